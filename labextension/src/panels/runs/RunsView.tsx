import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useMemo, useState } from 'react';

import {
  downloadRunsCsv,
  IRunRow,
  IRunsPage,
  IRunsQuery,
  listRuns,
  mlflowRunUrl
} from '../../api/runs';
import { fmt } from './charts';
import { colId, Column, ColumnPicker } from './ColumnPicker';

const PAGE = 50;

export interface IRunsActions {
  compare: (ids: string[]) => void;
  openJob: (id: string) => void;
}

/** MLflow's order_by name of a column. */
function orderKey(c: Column | string): string {
  if (typeof c === 'string') {
    return `attributes.${c}`;
  }
  const prefix = { params: 'params', metrics: 'metrics', tags: 'tags' }[c.kind];
  return `${prefix}.\`${c.key}\``;
}

function when(ms: number | null): string {
  return ms ? new Date(ms).toLocaleString() : '';
}

function defaultColumns(page: IRunsPage): Column[] {
  const params = page.columns.params
    .slice(0, 4)
    .map(key => ({ kind: 'params' as const, key }));
  const metrics = page.columns.metrics
    .filter(k => !k.startsWith('system/'))
    .slice(0, 4)
    .map(key => ({ kind: 'metrics' as const, key }));
  // each tracked run's resources (the hardware sampler's summary), when runs have them
  const resources = Object.keys(RESOURCES)
    .filter(k => page.columns.metrics.includes(k))
    .filter(k => !k.includes('gpu') || page.runs.some(r => r.metrics[k]))
    .map(key => ({ kind: 'metrics' as const, key }));
  return [...params, ...metrics, ...resources];
}

/** Short headers for the resource columns. */
const RESOURCES: Record<string, string> = {
  'system/peak_rss_mb': 'peak RSS MB',
  'system/mean_cpu_percent': 'mean CPU %',
  'system/peak_gpu_memory_mb': 'peak GPU MB'
};

function Runs(props: { project: string; actions: IRunsActions }): JSX.Element {
  const [filter, setFilter] = useState('');
  const [draft, setDraft] = useState('');
  const [status, setStatus] = useState('');
  const [notebook, setNotebook] = useState('');
  const [dataset, setDataset] = useState('');
  const [tag, setTag] = useState('');
  const [sweep, setSweep] = useState('');
  const [order, setOrder] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<IRunsPage | null>(null);
  const [shown, setShown] = useState<Column[] | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);

  const query = useMemo<IRunsQuery>(
    () => ({
      project: props.project,
      filter,
      status,
      notebook,
      dataset,
      tag,
      sweep,
      order_by: order,
      offset,
      limit: PAGE
    }),
    [
      props.project,
      filter,
      status,
      notebook,
      dataset,
      tag,
      sweep,
      order,
      offset
    ]
  );
  const load = useCallback(async () => {
    setLoading(true);
    try {
      const p = await listRuns(query);
      setPage(p);
      setShown(s => s ?? defaultColumns(p));
      setError('');
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  }, [query]);
  useEffect(() => {
    void load();
  }, [load]);

  const sortBy = (c: Column | string) => {
    const key = orderKey(c);
    const [current, dir] = order.split(' ');
    setOrder(current === key && dir === 'DESC' ? `${key} ASC` : `${key} DESC`);
    setOffset(0);
  };
  const arrow = (c: Column | string) => {
    const [current, dir] = order.split(' ');
    return current === orderKey(c) ? (dir === 'ASC' ? ' ▲' : ' ▼') : '';
  };
  const toggle = (id: string) =>
    setSelected(s => (s.includes(id) ? s.filter(x => x !== id) : [...s, id]));
  const cols = shown ?? [];
  const value = (r: IRunRow, c: Column) => {
    const v = r[c.kind][c.key];
    return c.kind === 'metrics' ? fmt(v as number | null) : (v ?? '');
  };
  const total = page?.total;
  return (
    <div className="jp-mllab-runs">
      <div className="jp-mllab-runs-bar">
        <form
          onSubmit={e => {
            e.preventDefault();
            setFilter(draft);
            setOffset(0);
          }}
        >
          <input
            className="jp-mllab-input jp-mllab-filter"
            placeholder="Filter, as in MLflow: metrics.accuracy > 0.9 and params.lr = '0.01'"
            aria-label="filter"
            value={draft}
            onChange={e => setDraft(e.target.value)}
          />
          <button type="submit" className="jp-mllab-button">
            Apply
          </button>
        </form>
        <select
          aria-label="status"
          value={status}
          onChange={e => {
            setStatus(e.target.value);
            setOffset(0);
          }}
        >
          <option value="">Any status</option>
          {['FINISHED', 'FAILED', 'RUNNING', 'KILLED'].map(s => (
            <option key={s}>{s}</option>
          ))}
        </select>
        {(
          [
            ['notebook', 'Notebook', notebook, setNotebook],
            ['dataset', 'Dataset (wine@2)', dataset, setDataset],
            ['tag', 'Tag (key=value)', tag, setTag]
          ] as const
        ).map(([label, placeholder, value, set]) => (
          <input
            key={label}
            className="jp-mllab-input jp-mllab-quick"
            placeholder={placeholder}
            aria-label={label}
            value={value}
            onChange={e => {
              set(e.target.value);
              setOffset(0);
            }}
          />
        ))}
        {sweep && (
          <button
            className="jp-mllab-chip"
            onClick={() => setSweep('')}
            title="Show all runs"
          >
            sweep {sweep.slice(0, 8)} ✕
          </button>
        )}
        {page && <ColumnPicker page={page} shown={cols} setShown={setShown} />}
        <button
          className="jp-mllab-button"
          onClick={() =>
            downloadRunsCsv(query).catch(
              e => void showErrorMessage('CSV export failed', e)
            )
          }
        >
          CSV
        </button>
        <button
          className="jp-mllab-button jp-mod-accept"
          disabled={selected.length < 2}
          onClick={() => props.actions.compare(selected)}
        >
          Compare{selected.length ? ` (${selected.length})` : ''}
        </button>
      </div>
      {error && <div className="jp-mllab-error">{error}</div>}
      {page && (
        <div className="jp-mllab-runs-scroll">
          <table className="jp-mllab-runs-table" aria-label="runs">
            <thead>
              <tr>
                <th />
                <th onClick={() => sortBy('run_name')}>
                  Run{arrow('run_name')}
                </th>
                <th onClick={() => sortBy('status')}>
                  Status{arrow('status')}
                </th>
                <th onClick={() => sortBy('start_time')}>
                  Started{arrow('start_time')}
                </th>
                <th>Duration</th>
                {cols.map(c => (
                  <th
                    key={colId(c)}
                    onClick={() => sortBy(c)}
                    className={c.kind === 'metrics' ? 'jp-mllab-num' : ''}
                    title={colId(c)}
                  >
                    {RESOURCES[c.key] ?? c.key}
                    {arrow(c)}
                  </th>
                ))}
                <th />
              </tr>
            </thead>
            <tbody>
              {page.runs.map(r => {
                const link = mlflowRunUrl(page.mlflow_ui, r);
                return (
                  <tr
                    key={r.run_id}
                    data-run={r.run_id}
                    className={
                      selected.includes(r.run_id) ? 'jp-mod-selected' : ''
                    }
                  >
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`select ${r.name}`}
                        checked={selected.includes(r.run_id)}
                        onChange={() => toggle(r.run_id)}
                      />
                    </td>
                    <td className="jp-mllab-runname" title={r.name ?? r.run_id}>
                      {r.job_id ? (
                        <a
                          onClick={() => props.actions.openJob(r.job_id!)}
                          title="Open the run's page"
                        >
                          {r.name || r.run_id.slice(0, 8)}
                        </a>
                      ) : (
                        r.name || r.run_id.slice(0, 8)
                      )}
                      {r.is_sweep && (
                        <button
                          className="jp-mllab-chip"
                          onClick={() => {
                            setSweep(r.run_id);
                            setOffset(0);
                          }}
                          title="Show this sweep's runs"
                        >
                          sweep
                        </button>
                      )}
                    </td>
                    <td>
                      <span
                        className={`jp-mllab-badge jp-mllab-run-${r.status}`}
                      >
                        {r.status}
                      </span>
                    </td>
                    <td>{when(r.start_time)}</td>
                    <td className="jp-mllab-num">
                      {r.duration !== null ? `${fmt(r.duration)} s` : ''}
                    </td>
                    {cols.map(c => (
                      <td
                        key={colId(c)}
                        className={c.kind === 'metrics' ? 'jp-mllab-num' : ''}
                      >
                        {value(r, c)}
                      </td>
                    ))}
                    <td>
                      {link && (
                        <a
                          href={link}
                          target="_blank"
                          rel="noopener noreferrer"
                        >
                          MLflow
                        </a>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {page.runs.length === 0 && (
            <div className="jp-mllab-empty">No runs match.</div>
          )}
        </div>
      )}
      {page && (
        <div className="jp-mllab-pager">
          <button
            className="jp-mllab-button"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE))}
          >
            ‹ Previous
          </button>
          <span aria-label="page">
            {page.runs.length
              ? `${offset + 1}–${offset + page.runs.length}`
              : '0'}
            {total !== null && total !== undefined ? ` of ${total}` : ''}
            {loading ? ' …' : ''}
          </span>
          <button
            className="jp-mllab-button"
            disabled={
              total !== null && total !== undefined
                ? offset + PAGE >= total
                : page.runs.length < PAGE
            }
            onClick={() => setOffset(offset + PAGE)}
          >
            Next ›
          </button>
          <button className="jp-mllab-button" onClick={() => void load()}>
            Refresh
          </button>
        </div>
      )}
    </div>
  );
}

export function createRunsView(
  project: string,
  actions: IRunsActions
): MainAreaWidget {
  const content = ReactWidget.create(
    <Runs project={project} actions={actions} />
  );
  content.addClass('jp-mllab-runs-view');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-mllab-runs-${project}`;
  widget.title.label = `Runs · ${project}`;
  widget.title.closable = true;
  return widget;
}
