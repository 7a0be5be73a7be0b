import React, { useEffect, useRef, useState } from 'react';

import {
  getPreview,
  getStats,
  IDatasetVersion,
  IPreview,
  IStats
} from '../../api/datasets';
import { usePoll } from '../../poll';
import { formatBytes } from './format';

/** Cells are always rendered as text: a CSV cell holding HTML stays text. */
function cell(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function TablePreview(props: { preview: IPreview }): JSX.Element {
  const { total_rows } = props.preview;
  const columns = props.preview.columns ?? [];
  const rows = props.preview.rows ?? [];
  return (
    <div
      className="jp-mllab-preview-table-wrap"
      tabIndex={0}
      role="region"
      aria-label="Preview"
    >
      <div className="jp-mllab-preview-meta">
        {columns.length} columns ·{' '}
        {total_rows === null || total_rows === undefined
          ? 'counting rows…'
          : `${total_rows.toLocaleString()} rows`}
      </div>
      <table className="jp-mllab-preview-table">
        <thead>
          <tr>
            {columns.map(c => (
              <th key={c.name} title={c.type}>
                {c.name}
                <span className="jp-mllab-coltype">{c.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {row.map((value, j) => (
                <td key={j}>{cell(value)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StatsView(props: { stats: IStats }): JSX.Element {
  const { stats } = props;
  if (stats.status !== 'done') {
    return (
      <div className="jp-mllab-preview-meta">
        {stats.status === 'pending' ? 'Computing statistics…' : stats.message}
      </div>
    );
  }
  return (
    <table className="jp-mllab-preview-table jp-mllab-stats-table">
      <thead>
        <tr>
          <th>column</th>
          <th>count</th>
          <th>nulls</th>
          <th>min</th>
          <th>max</th>
          <th>mean</th>
          <th>top values</th>
        </tr>
      </thead>
      <tbody>
        {(stats.columns ?? []).map(c => (
          <tr key={c.name}>
            <td>{c.name}</td>
            <td>{c.count}</td>
            <td>{c.nulls}</td>
            <td>{cell(c.min)}</td>
            <td>{cell(c.max)}</td>
            <td>{c.mean === null ? '' : c.mean.toPrecision(4)}</td>
            <td>{c.top.map(t => `${t.value} (${t.count})`).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A preview's content (shared with a run's output files, panels/experiments/Outputs). */
export function PreviewBody(props: { preview: IPreview }): JSX.Element {
  const { preview } = props;
  if (preview.error) {
    return <div className="jp-mllab-error">{preview.error}</div>;
  }
  if (preview.columns) {
    return <TablePreview preview={preview} />;
  }
  if (preview.thumbnail) {
    return (
      <div className="jp-mllab-preview-image">
        <img src={preview.thumbnail} alt={preview.filename ?? ''} />
        <div className="jp-mllab-preview-meta">
          {preview.width} × {preview.height}
        </div>
      </div>
    );
  }
  if (preview.files) {
    return (
      <ul className="jp-mllab-preview-files">
        {preview.files.map(f => (
          <li key={f.path}>
            <span>{f.path}</span>
            <span className="jp-mllab-muted">
              {f.dir ? '' : formatBytes(f.size)}
            </span>
          </li>
        ))}
      </ul>
    );
  }
  if (preview.text !== undefined) {
    return (
      <pre className="jp-mllab-preview-text">
        {preview.text}
        {preview.truncated ? '\n…' : ''}
      </pre>
    );
  }
  return (
    <div className="jp-mllab-preview-meta">
      No preview for this kind of file.
    </div>
  );
}

/** The preview pane of one version: a table, an image, text or a file list. */
export function Preview(props: { version: IDatasetVersion }): JSX.Element {
  const { version } = props;
  const [preview, setPreview] = useState<IPreview | null>(null);
  const [error, setError] = useState('');
  const [stats, setStats] = useState<IStats | null>(null);

  const [waiting, setWaiting] = useState<'preview' | 'stats' | null>('preview');
  const attempts = useRef(0);
  useEffect(() => {
    setPreview(null);
    setStats(null);
    setError('');
    setWaiting('preview');
    attempts.current = 0;
  }, [version.key]);

  // the row count of a big CSV arrives a little later, the statistics a while later
  usePoll(
    async () => {
      const [project, name, number] = [
        version.project,
        version.name,
        version.version
      ];
      attempts.current += 1;
      try {
        if (waiting === 'preview') {
          const data = await getPreview(project, name, number);
          setPreview(data);
          const pending = data.kind === 'csv' && data.total_rows === null;
          if (!pending || attempts.current >= 20) {
            setWaiting(null);
          }
        } else if (waiting === 'stats') {
          const data = await getStats(project, name, number);
          setStats(data);
          if (data.status !== 'pending' || attempts.current >= 120) {
            setWaiting(null);
          }
        }
      } catch (e) {
        setError((e as Error).message);
        setWaiting(null);
      }
    },
    {
      name: `jupyter-mllab:preview-${version.key}`,
      interval: 1000,
      active: waiting !== null,
      deps: [version.key]
    }
  );

  const loadStats = () => {
    attempts.current = 0;
    setWaiting('stats');
  };

  return (
    <div className="jp-mllab-preview" data-key={version.key}>
      <div className="jp-mllab-preview-title">
        <span>{version.key}</span>
        {preview?.columns && !stats ? (
          <button className="jp-mllab-link-button" onClick={loadStats}>
            Statistics
          </button>
        ) : null}
      </div>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {preview ? (
        <PreviewBody preview={preview} />
      ) : error ? null : (
        <div>Loading…</div>
      )}
      {stats ? <StatsView stats={stats} /> : null}
    </div>
  );
}
