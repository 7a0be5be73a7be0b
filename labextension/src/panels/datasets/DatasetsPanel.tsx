import { Notification } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import {
  IDatasetRow,
  IDatasetVersion,
  IUploadFile,
  listDatasets,
  uploadFiles
} from '../../api/datasets';
import { LabModel } from '../../model';
import { DatasetItem } from './DatasetItem';
import { datasetName, formatBytes } from './format';

interface IProgress {
  label: string;
  sent: number;
  total: number;
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
    // the panel re-mounts this list for a new project; an old list asks no more
    const onChange = () => {
      if (props.model.current === project) {
        void refresh();
      }
    };
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
      // the model's refresh updates the project's counts, then this list
      await props.model.refresh();
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
          placeholder="Search"
          aria-label="Search datasets"
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
          className="jp-mllab-upload-progress"
          role="progressbar"
          aria-label="Upload progress"
          aria-valuenow={progress.sent}
          aria-valuemax={progress.total}
        >
          <div className="jp-mllab-upload-progress-label">
            Uploading {progress.label}: {formatBytes(progress.sent)} of{' '}
            {formatBytes(progress.total)}
          </div>
          <div className="jp-mllab-upload-progress-track">
            <div
              className="jp-mllab-upload-progress-bar"
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
          onChanged={() => void props.model.refresh()}
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
