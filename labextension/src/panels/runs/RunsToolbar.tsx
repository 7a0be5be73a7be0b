import { showErrorMessage } from '@jupyterlab/apputils';
import React, { useState } from 'react';

import { downloadRunsCsv } from '../../api/runs';
import { Column, ColumnPicker } from './ColumnPicker';
import { IRunsState } from './useRunsQuery';

const STATUSES = ['FINISHED', 'FAILED', 'RUNNING', 'KILLED'];

/** The quick filters: a field each, applied as typed. */
const QUICK = [
  ['notebook', 'Notebook'],
  ['dataset', 'Dataset (wine@2)'],
  ['tag', 'Tag (key=value)']
] as const;

/** Filters, columns, CSV export and Compare, above the runs table. */
export function RunsToolbar(props: {
  runs: IRunsState;
  shown: Column[];
  setShown: (c: Column[]) => void;
  selected: string[];
  compare: (ids: string[]) => void;
}): JSX.Element {
  const { runs, selected } = props;
  const [draft, setDraft] = useState(runs.filters.filter);
  return (
    <div className="jp-mllab-runs-bar" role="toolbar" aria-label="runs">
      <form
        role="search"
        onSubmit={e => {
          e.preventDefault();
          runs.setFilters({ filter: draft });
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
        value={runs.filters.status}
        onChange={e => runs.setFilters({ status: e.target.value })}
      >
        <option value="">Any status</option>
        {STATUSES.map(s => (
          <option key={s}>{s}</option>
        ))}
      </select>
      {QUICK.map(([key, placeholder]) => (
        <input
          key={key}
          className="jp-mllab-input jp-mllab-quick"
          placeholder={placeholder}
          aria-label={key}
          value={runs.filters[key]}
          onChange={e => runs.setFilters({ [key]: e.target.value })}
        />
      ))}
      {runs.filters.sweep && (
        <button
          className="jp-mllab-chip"
          onClick={() => runs.setFilters({ sweep: '' })}
          title="Show all runs"
          aria-label={`sweep ${runs.filters.sweep.slice(0, 8)}: show all runs`}
        >
          sweep {runs.filters.sweep.slice(0, 8)} ✕
        </button>
      )}
      {runs.page && (
        <ColumnPicker
          page={runs.page}
          shown={props.shown}
          setShown={props.setShown}
        />
      )}
      <button
        className="jp-mllab-button"
        title="Download every matching run as CSV"
        onClick={() =>
          downloadRunsCsv(runs.query).catch(
            e => void showErrorMessage('CSV export failed', e)
          )
        }
      >
        CSV
      </button>
      <button
        className="jp-mllab-button jp-mod-accept"
        disabled={selected.length < 2}
        onClick={() => props.compare(selected)}
      >
        Compare{selected.length ? ` (${selected.length})` : ''}
      </button>
    </div>
  );
}
