import {
  Clipboard,
  Dialog,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import React, { useEffect, useRef, useState } from 'react';

import {
  deleteDataset,
  deleteVersion,
  downloadUrl,
  extractVersion,
  IDatasetRow,
  IDatasetVersion,
  listVersions
} from '../../api/datasets';
import { formatBytes, formatWhen } from './format';

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
      try {
        await deleteVersion(v.project, v.name, v.version);
      } catch (e) {
        await showErrorMessage(`Cannot delete ${v.key}`, e as Error);
      }
      props.onChanged();
    }
  };
  const extract = async () => {
    try {
      const created = await extractVersion(v.project, v.name, v.version);
      Notification.success(`Extracted into ${created.key}`, {
        autoClose: 3000
      });
    } catch (e) {
      await showErrorMessage(`Cannot extract ${v.key}`, e as Error);
    }
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
        onClick={e => {
          // an action is not a choice of version; the space beside them is
          if ((e.target as HTMLElement).closest('button, a')) {
            e.stopPropagation();
          }
        }}
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

/** One dataset of the list: its latest version, and when open, all its versions. */
export function DatasetItem(props: {
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
      try {
        await deleteDataset(project, row.name);
      } catch (e) {
        await showErrorMessage(`Cannot delete ${row.name}`, e as Error);
      }
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
