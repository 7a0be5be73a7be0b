import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import {
  deleteDataset,
  deleteVersion,
  downloadUrl,
  extractVersion,
  IDatasetRow,
  IDatasetVersion,
  IUploadFile,
  listDatasets,
  listVersions,
  uploadFiles
} from '../../api/datasets';
import { LabModel } from '../../model';
import { datasetName, formatBytes, formatWhen } from './format';

interface IProgress {
  label: string;
  sent: number;
  total: number;
}

const ARCHIVE = /\.(zip|tar|tgz|tar\.gz|tar\.bz2|tar\.xz)$/i;

async function confirm(
  title: string,
  body: string,
  label: string
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })]
  });
  return result.button.accept;
}

function VersionRow(props: {
  version: IDatasetVersion;
  selected: boolean;
  onSelect: () => void;
  onChanged: () => void;
}): JSX.Element {
  const { version: v } = props;
  const copy = () => {
    Clipboard.copyToSystem(v.key);
    Notification.success(`Copied ${v.key}`, { autoClose: 2000 });
  };
  const remove = async () => {
    if (
      await confirm(
        `Delete ${v.key}?`,
        'This version goes; the others stay.',
        'Delete'
      )
    ) {
      await deleteVersion(v.project, v.name, v.version);
      props.onChanged();
    }
  };
  const extract = async () => {
    const created = await extractVersion(v.project, v.name, v.version);
    Notification.success(`Extracted into ${created.key}`, { autoClose: 3000 });
    props.onChanged();
  };
  return (
    <li
      className={`jp-mllab-version${props.selected ? ' jp-mod-selected' : ''}`}
      onClick={props.onSelect}
      data-version={v.version}
    >
      <span className="jp-mllab-version-number">v{v.version}</span>
      <span className="jp-mllab-muted">
        {formatBytes(v.size)} ·{' '}
        {v.kind === 'folder' ? `${v.file_count} files` : v.filename} ·{' '}
        {formatWhen(v.created)}
      </span>
      <span
        className="jp-mllab-version-actions"
        onClick={e => e.stopPropagation()}
      >
        <button
          className="jp-mllab-link-button jp-mllab-copy-key"
          title={v.key}
          onClick={copy}
        >
          Copy key
        </button>
        <a
          className="jp-mllab-link-button jp-mllab-download"
          href={downloadUrl(v.project, v.name, v.version)}
          download
        >
          Download
        </a>
        {v.kind === 'file' && ARCHIVE.test(v.filename) ? (
          <button
            className="jp-mllab-link-button jp-mllab-extract"
            onClick={() => void extract()}
          >
            Extract
          </button>
        ) : null}
        <button
          className="jp-mllab-link-button jp-mllab-delete-version"
          onClick={() => void remove()}
        >
          Delete
        </button>
      </span>
    </li>
  );
}

function DatasetItem(props: {
  row: IDatasetRow;
  project: string;
  open: boolean;
  onToggle: () => void;
  onChanged: () => void;
  onOpen: (version: IDatasetVersion) => void;
}): JSX.Element {
  const { row, project } = props;
  const [versions, setVersions] = useState<IDatasetVersion[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const latestSeen = useRef<number>(0);
  useEffect(() => {
    if (props.open) {
      void listVersions(project, row.name).then(vs => {
        setVersions(vs);
        // a new version (or the first look) shows the newest; else keep the choice
        const sameLatest = latestSeen.current === row.latest.version;
        latestSeen.current = row.latest.version;
        setSelected(s =>
          s && sameLatest && vs.some(v => v.version === s)
            ? s
            : (vs[0]?.version ?? null)
        );
      });
    }
  }, [props.open, row.latest.version, row.versions]);
  const removeAll = async () => {
    if (
      await confirm(
        `Delete dataset ${row.name}?`,
        `All ${row.versions} versions go.`,
        'Delete'
      )
    ) {
      await deleteDataset(project, row.name);
      props.onChanged();
    }
  };
  return (
    <div
      className={`jp-mllab-dataset${props.open ? ' jp-mod-open' : ''}`}
      data-name={row.name}
    >
      <div
        className="jp-mllab-dataset-row"
        onClick={props.onToggle}
        title={row.latest.description}
      >
        <span className="jp-mllab-caret">{props.open ? '▾' : '▸'}</span>
        <span className="jp-mllab-dataset-name">{row.name}</span>
        <span className="jp-mllab-dataset-latest">v{row.latest.version}</span>
        <span className="jp-mllab-muted">{formatBytes(row.latest.size)}</span>
        <span className="jp-mllab-muted jp-mllab-dataset-meta">
          {row.versions} version{row.versions === 1 ? '' : 's'} · updated{' '}
          {formatWhen(row.updated)}
          {row.latest.description ? ` · ${row.latest.description}` : ''}
        </span>
      </div>
      {props.open ? (
        <div className="jp-mllab-dataset-body">
          <ul className="jp-mllab-versions">
            {versions.map(v => (
              <VersionRow
                key={v.version}
                version={v}
                selected={v.version === selected}
                onSelect={() => {
                  setSelected(v.version);
                  props.onOpen(v);
                }}
                onChanged={props.onChanged}
              />
            ))}
          </ul>
          <button
            className="jp-mllab-link-button jp-mllab-delete-dataset"
            onClick={() => void removeAll()}
          >
            Delete dataset
          </button>
        </div>
      ) : null}
    </div>
  );
}

export type OpenVersion = (version: IDatasetVersion) => void;

function Datasets(props: {
  model: LabModel;
  openVersion: OpenVersion;
}): JSX.Element {
  const project = props.model.current;
  const [rows, setRows] = useState<IDatasetRow[]>([]);
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [progress, setProgress] = useState<IProgress | null>(null);
  const [error, setError] = useState('');
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  const refresh = useCallback(async () => {
    try {
      setRows(await listDatasets(project, query));
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [project, query]);

  useEffect(() => {
    void refresh();
    const onChange = () => void refresh();
    props.model.changed.connect(onChange);
    return () => {
      props.model.changed.disconnect(onChange);
    };
  }, [refresh]);

  const upload = async (name: string, files: IUploadFile[]) => {
    const label = files.length === 1 ? files[0].path : `${files.length} files`;
    setProgress({
      label,
      sent: 0,
      total: files.reduce((n, f) => n + f.file.size, 0)
    });
    try {
      const version = await uploadFiles(project, files, {
        name,
        onProgress: (sent, total) => setProgress({ label, sent, total })
      });
      Notification.success(`Uploaded ${version.key}`, { autoClose: 3000 });
      setOpen(version.name);
      props.openVersion(version);
      setError('');
    } catch (e) {
      setError(`Upload of ${label} failed: ${(e as Error).message}`);
    } finally {
      setProgress(null);
      await refresh();
    }
  };

  const uploadEach = async (files: File[]) => {
    for (const file of files) {
      await upload(datasetName(file.name), [{ path: file.name, file }]);
    }
  };

  const uploadFolder = async (files: File[]) => {
    if (!files.length) {
      return;
    }
    const top = (files[0] as any).webkitRelativePath.split('/')[0] as string;
    const entries = files.map(file => ({
      path: ((file as any).webkitRelativePath as string)
        .split('/')
        .slice(1)
        .join('/'),
      file
    }));
    await upload(datasetName(top), entries);
  };

  return (
    <div
      className={`jp-mllab-datasets${dragging ? ' jp-mod-dragging' : ''}`}
      onDragOver={e => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={e => {
        e.preventDefault();
        setDragging(false);
        void uploadEach(Array.from(e.dataTransfer.files));
      }}
    >
      <div className="jp-mllab-toolbar">
        <input
          className="jp-mod-styled jp-mllab-search"
          placeholder="Search datasets"
          value={query}
          onChange={e => setQuery(e.target.value)}
        />
        <button
          className="jp-mod-styled jp-mllab-upload"
          onClick={() => fileInput.current?.click()}
        >
          Upload
        </button>
        <button
          className="jp-mod-styled jp-mllab-upload-folder"
          onClick={() => folderInput.current?.click()}
        >
          Folder
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          className="jp-mllab-file-input"
          onChange={e => {
            void uploadEach(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
        />
        <input
          ref={folderInput}
          type="file"
          hidden
          {...({ webkitdirectory: '' } as any)}
          onChange={e => {
            void uploadFolder(Array.from(e.target.files ?? []));
            e.target.value = '';
          }}
        />
      </div>
      {progress ? (
        <div
          className="jp-mllab-progress"
          role="progressbar"
          aria-valuenow={progress.sent}
          aria-valuemax={progress.total}
        >
          <div className="jp-mllab-progress-label">
            Uploading {progress.label}: {formatBytes(progress.sent)} of{' '}
            {formatBytes(progress.total)}
          </div>
          <div className="jp-mllab-progress-track">
            <div
              className="jp-mllab-progress-bar"
              style={{
                width: `${progress.total ? (100 * progress.sent) / progress.total : 100}%`
              }}
            />
          </div>
        </div>
      ) : null}
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {rows.length === 0 && !progress ? (
        <div className="jp-mllab-planned jp-mllab-dropzone">
          {query
            ? `No dataset of ${project} matches “${query}”.`
            : `Drop files here, or Upload, to add datasets to ${project}: each upload becomes an immutable version with a key to copy.`}
        </div>
      ) : null}
      {rows.map(row => (
        <DatasetItem
          key={row.name}
          row={row}
          project={project}
          open={open === row.name}
          onToggle={() => setOpen(open === row.name ? null : row.name)}
          onChanged={() => void refresh()}
          onOpen={props.openVersion}
        />
      ))}
    </div>
  );
}

/** The Datasets panel: the current project's datasets, uploads, versions and previews. */
export class DatasetsPanel extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly openVersion: OpenVersion
  ) {
    super();
    this.id = 'jp-mllab-datasets';
    this.title.label = 'Datasets';
    this.addClass('jp-mllab-panel');
    // Re-render (a fresh list) when the current project changes, however it changed.
    model.changed.connect(() => {
      if (this.rendered !== model.current) {
        this.update();
      }
    });
  }

  private rendered = '';

  render(): JSX.Element {
    this.rendered = this.model.current;
    return (
      <Datasets
        key={this.model.current}
        model={this.model}
        openVersion={this.openVersion}
      />
    );
  }
}
