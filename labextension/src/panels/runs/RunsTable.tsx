import React from 'react';

import { IRunRow, IRunsPage, mlflowRunUrl } from '../../api/runs';
import { fmt } from './charts';
import { colId, Column } from './ColumnPicker';
import { header, sortOf, when } from './query';

/** A header that sorts its column (a button in it, for the keyboard). */
function SortHeader(props: {
  order: string;
  column: Column | string;
  label: string;
  sortBy: (c: Column | string) => void;
  className?: string;
  title?: string;
}): JSX.Element {
  const sort = sortOf(props.order, props.column);
  return (
    <th
      scope="col"
      aria-sort={sort}
      className={props.className}
      title={props.title}
      onClick={() => props.sortBy(props.column)}
    >
      <button
        className="jp-mllab-sort"
        onClick={e => {
          e.stopPropagation();
          props.sortBy(props.column);
        }}
      >
        {props.label}
        {sort === 'ascending' ? ' ▲' : sort === 'descending' ? ' ▼' : ''}
      </button>
    </th>
  );
}

function cell(r: IRunRow, c: Column): string {
  const v = r[c.kind][c.key];
  return c.kind === 'metrics' ? fmt(v as number | null) : String(v ?? '');
}

/** One page of runs: a row each, the chosen columns, sortable headers, selection. */
export function RunsTable(props: {
  page: IRunsPage;
  columns: Column[];
  order: string;
  sortBy: (c: Column | string) => void;
  selected: string[];
  toggle: (id: string) => void;
  openJob: (id: string) => void;
  showSweep: (id: string) => void;
}): JSX.Element {
  const { page, columns: cols, selected } = props;
  const sortable = { order: props.order, sortBy: props.sortBy };
  // Space selects a row; Enter opens its run's page (when the lab ran it)
  const onKey = (r: IRunRow) => (e: React.KeyboardEvent) => {
    if (e.target !== e.currentTarget) {
      return; // a key on a control inside the row is the control's
    }
    if (e.key === ' ') {
      e.preventDefault();
      props.toggle(r.run_id);
    } else if (e.key === 'Enter' && r.job_id) {
      e.preventDefault();
      props.openJob(r.job_id);
    }
  };
  return (
    <div className="jp-mllab-runs-scroll">
      <table className="jp-mllab-runs-table" aria-label="runs">
        <thead>
          <tr>
            <th scope="col">
              <span className="jp-mllab-visually-hidden">Selected</span>
            </th>
            <SortHeader {...sortable} column="run_name" label="Run" />
            <SortHeader {...sortable} column="status" label="Status" />
            <SortHeader {...sortable} column="start_time" label="Started" />
            <th scope="col">Duration</th>
            {cols.map(c => (
              <SortHeader
                {...sortable}
                key={colId(c)}
                column={c}
                label={header(c)}
                title={colId(c)}
                className={c.kind === 'metrics' ? 'jp-mllab-num' : ''}
              />
            ))}
            <th scope="col">
              <span className="jp-mllab-visually-hidden">MLflow</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page.runs.map(r => {
            const link = mlflowRunUrl(page.mlflow_ui, r);
            const name = r.name || r.run_id.slice(0, 8);
            const isSelected = selected.includes(r.run_id);
            return (
              <tr
                key={r.run_id}
                data-run={r.run_id}
                tabIndex={0}
                aria-selected={isSelected}
                className={isSelected ? 'jp-mod-selected' : ''}
                onKeyDown={onKey(r)}
              >
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${name}`}
                    checked={isSelected}
                    onChange={() => props.toggle(r.run_id)}
                  />
                </td>
                <td className="jp-mllab-runname" title={r.name ?? r.run_id}>
                  {r.job_id ? (
                    <button
                      className="jp-mllab-link-button"
                      onClick={() => props.openJob(r.job_id!)}
                      title="Open the run's page"
                    >
                      {name}
                    </button>
                  ) : (
                    name
                  )}
                  {r.is_sweep && (
                    <button
                      className="jp-mllab-chip"
                      onClick={() => props.showSweep(r.run_id)}
                      title="Show this sweep's runs"
                    >
                      sweep
                    </button>
                  )}
                </td>
                <td>
                  <span className={`jp-mllab-badge jp-mllab-run-${r.status}`}>
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
                    {cell(r, c)}
                  </td>
                ))}
                <td>
                  {link && (
                    <a
                      href={link}
                      target="_blank"
                      rel="noopener noreferrer"
                      aria-label={`${name} in MLflow`}
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
  );
}
