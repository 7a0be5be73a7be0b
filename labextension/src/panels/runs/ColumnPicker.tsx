import React, { useState } from 'react';

import { IRunsPage } from '../../api/runs';

export type Column = { kind: 'params' | 'metrics' | 'tags'; key: string };

export function colId(c: Column): string {
  return `${c.kind}.${c.key}`;
}

/** Which parameters, metrics and tags the runs table shows. */
export function ColumnPicker(props: {
  page: IRunsPage;
  shown: Column[];
  setShown: (c: Column[]) => void;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  const ids = new Set(props.shown.map(colId));
  const toggle = (c: Column) =>
    props.setShown(
      ids.has(colId(c))
        ? props.shown.filter(s => colId(s) !== colId(c))
        : [...props.shown, c]
    );
  return (
    <div className="jp-mllab-colpicker">
      <button
        className="jp-mllab-button"
        onClick={() => setOpen(!open)}
        aria-expanded={open}
      >
        Columns ▾
      </button>
      {open && (
        <div className="jp-mllab-colpicker-menu" role="menu">
          {(['params', 'metrics', 'tags'] as const).map(kind => (
            <fieldset key={kind}>
              <legend>
                {kind === 'params'
                  ? 'Parameters'
                  : kind === 'metrics'
                    ? 'Metrics'
                    : 'Tags'}
              </legend>
              {props.page.columns[kind].map(key => (
                <label key={key}>
                  <input
                    type="checkbox"
                    checked={ids.has(`${kind}.${key}`)}
                    onChange={() => toggle({ kind, key })}
                  />{' '}
                  {key}
                </label>
              ))}
            </fieldset>
          ))}
        </div>
      )}
    </div>
  );
}
