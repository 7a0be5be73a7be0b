import { apiUrl, jsonBody, MLLabApiError, requestAPI } from './request';
import { createSHA256 } from 'hash-wasm';
import type { components } from './schema';

type S = components['schemas'];

/** The datasets API's shapes (docs/openapi.json). */
export type IDatasetVersion = S['DatasetVersion'];
export type IDatasetRow = S['DatasetRow'];
export type IColumn = S['Column'];
/** A file's first rows, text, thumbnail or listing: which fields come depends on `kind`. */
export type IPreview = S['Preview'];
export type IColumnStats = S['ColumnStats'];
export type IStats = S['Stats'];

const base = (project: string) => ['projects', project, 'datasets'];
const version = (project: string, name: string, v: number | 'latest') => [
  ...base(project),
  name,
  'versions',
  String(v)
];

export async function listDatasets(
  project: string,
  q = ''
): Promise<IDatasetRow[]> {
  const data = await requestAPI<S['DatasetList']>(
    base(project),
    {},
    q ? { q } : {}
  );
  return data.datasets;
}

export async function listVersions(
  project: string,
  name: string
): Promise<IDatasetVersion[]> {
  const data = await requestAPI<S['Dataset']>([...base(project), name]);
  return data.versions;
}

export function getPreview(
  project: string,
  name: string,
  v: number,
  path?: string
): Promise<IPreview> {
  return requestAPI<IPreview>(
    [...version(project, name, v), 'preview'],
    {},
    path ? { path } : {}
  );
}

export function getStats(
  project: string,
  name: string,
  v: number
): Promise<IStats> {
  return requestAPI<IStats>([...version(project, name, v), 'stats']);
}

export function downloadUrl(project: string, name: string, v: number): string {
  return apiUrl(...version(project, name, v), 'download');
}

export async function deleteVersion(
  project: string,
  name: string,
  v: number
): Promise<void> {
  await requestAPI<void>(version(project, name, v), { method: 'DELETE' });
}

export async function deleteDataset(
  project: string,
  name: string
): Promise<void> {
  await requestAPI<void>([...base(project), name], { method: 'DELETE' });
}

export function extractVersion(
  project: string,
  name: string,
  v: number
): Promise<IDatasetVersion> {
  return requestAPI<IDatasetVersion>(
    [...version(project, name, v), 'extract'],
    {
      method: 'POST'
    }
  );
}

/** "Upload as dataset" of a file or folder of the Jupyter root. */
export function importPath(
  project: string,
  path: string,
  name?: string
): Promise<IDatasetVersion> {
  const body: S['DatasetImport'] = { path, name };
  return requestAPI<IDatasetVersion>(base(project), jsonBody('POST', body));
}

// eslint-disable-next-line no-restricted-syntax -- uploadFiles' own options, not a server shape
export interface IUploadOptions {
  name: string;
  description?: string;
  tags?: string[];
  extract?: boolean;
  /** Called with the bytes sent so far and the total. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

// eslint-disable-next-line no-restricted-syntax -- a file the browser holds, not a server shape
export interface IUploadFile {
  /** The path inside a folder dataset, or the file name. */
  path: string;
  file: Blob;
}

const CHUNK = 8 << 20;
const RETRIES = 3;

/**
 * Upload files as one new version: begin a session, PUT each file in 8 MiB chunks at
 * known offsets (a failed chunk resumes from what the server says it has), commit with
 * each file's sha256, computed here while its chunks are read (the server refuses a
 * version whose bytes are not the ones sent).
 */
export async function uploadFiles(
  project: string,
  files: IUploadFile[],
  options: IUploadOptions
): Promise<IDatasetVersion> {
  const total = files.reduce((n, f) => n + f.file.size, 0);
  const folder = files.length > 1 || files.some(f => f.path.includes('/'));
  const create: S['UploadCreate'] = {
    name: options.name,
    folder,
    description: options.description ?? '',
    tags: options.tags ?? [],
    extract: options.extract ?? false,
    files: files.map(f => ({ path: f.path, size: f.file.size }))
  };
  const session = await requestAPI<S['Upload']>(
    ['projects', project, 'uploads'],
    jsonBody('POST', create)
  );
  const parts = ['projects', project, 'uploads', session.id];
  const digests: string[] = [];
  let done = 0;
  try {
    for (const [index, entry] of files.entries()) {
      let offset = 0;
      let failures = 0;
      const hash = await createSHA256(); // WebAssembly: near native speed, incremental
      let hashed = 0; // the bytes [0, hashed) of this file are in the hash
      while (
        offset < entry.file.size ||
        (offset === 0 && entry.file.size === 0)
      ) {
        options.signal?.throwIfAborted();
        const end = Math.min(offset + CHUNK, entry.file.size);
        const bytes = new Uint8Array(
          await entry.file.slice(offset, end).arrayBuffer()
        );
        try {
          const sent = requestAPI<S['ChunkReceived']>(
            [...parts, 'files', String(index)],
            {
              method: 'PUT',
              body: bytes,
              signal: options.signal
            },
            { offset: String(offset) }
          );
          // hash while the chunk travels; a chunk sent again is not hashed twice
          if (offset > hashed) {
            throw new Error('The server reports more bytes than were sent.');
          }
          if (end > hashed) {
            hash.update(bytes.subarray(hashed - offset));
            hashed = end;
          }
          const reply = await sent;
          offset = reply.received;
          failures = 0;
        } catch (error) {
          if (
            options.signal?.aborted ||
            ++failures > RETRIES ||
            isFinal(error)
          ) {
            throw error;
          }
          const status = await requestAPI<S['Upload']>(parts);
          offset = status.files[index].received;
        }
        options.onProgress?.(done + offset, total);
        if (entry.file.size === 0) {
          break;
        }
      }
      done += entry.file.size;
      digests.push(hash.digest('hex'));
    }
    const commit: S['UploadCommit'] = { sha256: digests };
    return await requestAPI<IDatasetVersion>(
      [...parts, 'commit'],
      jsonBody('POST', commit)
    );
  } catch (error) {
    await requestAPI<void>(parts, { method: 'DELETE' }).catch(() => undefined);
    throw error;
  }
}

function isFinal(error: unknown): boolean {
  return (
    error instanceof MLLabApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 409
  );
}
