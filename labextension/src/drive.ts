import { Contents, ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import {
  getJob,
  jobOutput,
  jobOutputs,
  outputBlob,
  outputUrl
} from './api/jobs';
import { notebookName } from './panels/experiments/format';

export const RUNS_DRIVE = 'mllab-runs';
const OUTPUTS = 'outputs';
const MAX_OPEN_BYTES = 50 * 2 ** 20; // bigger outputs are downloaded, not opened
const TEXT =
  /\.(txt|md|csv|tsv|json|jsonl|ndjson|log|ya?ml|py|r|sql|xml|html?|svg|toml|ini|cfg)$/i;

function isText(path: string, mimetype: string): boolean {
  return mimetype.startsWith('text/') || TEXT.test(path);
}

function directory(
  path: string,
  content: Contents.IModel[] | null
): Contents.IModel {
  return {
    name: path.split('/').pop() ?? path,
    path,
    type: 'directory',
    writable: false,
    created: '',
    last_modified: '',
    mimetype: '',
    content,
    format: content ? 'json' : null
  };
}

function fileModel(
  path: string,
  size: number,
  content: string | null,
  format: Contents.FileFormat,
  mimetype = ''
): Contents.IModel {
  return {
    name: path.split('/').pop() ?? path,
    path,
    type: 'file',
    writable: false,
    created: '',
    last_modified: '',
    mimetype,
    size,
    content,
    format
  };
}

function readOnly(): Promise<never> {
  return Promise.reject(
    new Error(
      'Output notebooks of runs are read-only. Use File > Save Notebook As… to keep an editable copy.'
    )
  );
}

/**
 * A read-only JupyterLab drive over the output notebooks of runs: `mllab-runs:<job id>/<name>.ipynb`,
 * and the files each run saved: `mllab-runs:<job id>/outputs/<path>` (text and images open).
 * Output notebooks live under the lab's (hidden) home, which the contents API does not serve.
 */
export class RunsDrive implements Contents.IDrive {
  readonly name = RUNS_DRIVE;
  readonly serverSettings = ServerConnection.makeSettings();
  readonly fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  isDisposed = false;

  async get(
    localPath: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const [id, name, ...rest] = localPath.split('/');
    if (!name) {
      return directory(localPath, await this.runListing(id));
    }
    if (name === OUTPUTS) {
      return this.getOutput(id, rest.join('/'), options);
    }
    const content = options?.content === false ? null : await jobOutput(id);
    const now = new Date().toISOString();
    return {
      name,
      path: localPath,
      type: 'notebook',
      writable: false,
      created: now,
      last_modified: now,
      mimetype: 'application/x-ipynb+json',
      content,
      format: 'json'
    };
  }

  /** A run's folder: its output notebook and its outputs/ folder. */
  private async runListing(id: string): Promise<Contents.IModel[]> {
    const job = await getJob(id);
    const items: Contents.IModel[] = [];
    if (job.has_output) {
      items.push({
        ...directory(`${id}/${notebookName(job.notebook)}`, null),
        type: 'notebook',
        mimetype: 'application/x-ipynb+json',
        format: null
      });
    }
    if (job.kind === 'run') {
      items.push(directory(`${id}/${OUTPUTS}`, null));
    }
    return items;
  }

  /** `<id>/outputs/<path>`: a folder of the saved files, or one file (read-only). */
  private async getOutput(
    id: string,
    path: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const files = (await jobOutputs(id)).files.filter(f => f.saved);
    const file = files.find(f => f.path === path);
    const prefix = `${id}/${OUTPUTS}`;
    if (!file) {
      const under = path ? `${path}/` : '';
      const children = new Map<string, Contents.IModel>();
      for (const f of files.filter(f => f.path.startsWith(under))) {
        const [first, ...more] = f.path.slice(under.length).split('/');
        const childPath = `${prefix}/${under}${first}`;
        if (!children.has(first)) {
          children.set(
            first,
            more.length
              ? directory(childPath, null)
              : fileModel(childPath, f.size, null, null)
          );
        }
      }
      if (path && !children.size) {
        throw new Error(`Run ${id} saved no output file '${path}'.`);
      }
      return directory(`${prefix}${path ? `/${path}` : ''}`, [
        ...children.values()
      ]);
    }
    const full = `${prefix}/${path}`;
    if (options?.content === false) {
      return fileModel(full, file.size, null, null);
    }
    if (file.size > MAX_OPEN_BYTES) {
      throw new Error(
        `${path} is ${file.size} bytes: too big to open here. Download it from the run's page.`
      );
    }
    const blob = await outputBlob(id, path);
    if (options?.format === 'base64' || !isText(path, blob.type)) {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) {
        binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      }
      return fileModel(full, file.size, btoa(binary), 'base64', blob.type);
    }
    return fileModel(full, file.size, await blob.text(), 'text', blob.type);
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    const [id, name, ...rest] = localPath.split('/');
    if (name === OUTPUTS) {
      return outputUrl(id, rest.join('/'));
    }
    const base = this.serverSettings.baseUrl.replace(/\/$/, '');
    return `${base}/mllab/api/jobs/${id}/output?download=true`;
  }

  newUntitled(): Promise<Contents.IModel> {
    return readOnly();
  }
  delete(): Promise<void> {
    return readOnly();
  }
  rename(): Promise<Contents.IModel> {
    return readOnly();
  }
  save(): Promise<Contents.IModel> {
    return readOnly();
  }
  copy(): Promise<Contents.IModel> {
    return readOnly();
  }
  async createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return { id: 'none', last_modified: new Date().toISOString() };
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  restoreCheckpoint(): Promise<void> {
    return readOnly();
  }
  deleteCheckpoint(): Promise<void> {
    return Promise.resolve();
  }
  dispose(): void {
    this.isDisposed = true;
    Signal.clearData(this);
  }
}
