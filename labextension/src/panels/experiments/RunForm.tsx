import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { INotebookParameters, IParameter, ISubmit } from '../../api/jobs';

type Mode = 'value' | 'list' | 'range';

interface IField {
  mode: Mode;
  value: string;
  list: string;
  low: string;
  high: string;
  step: string;
  log: boolean;
}

function show(value: unknown, param: IParameter): string {
  if (value === null || value === undefined) {
    return param.default_source;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A text typed into a field, as the parameter's type. */
export function parseValue(text: string, type: IParameter['type']): unknown {
  const t = text.trim();
  switch (type) {
    case 'int': {
      if (!/^[-+]?\d+$/.test(t)) {
        throw new Error(`"${t}" is not a whole number`);
      }
      return parseInt(t, 10);
    }
    case 'float': {
      const n = Number(t);
      if (t === '' || !isFinite(n)) {
        throw new Error(`"${t}" is not a number`);
      }
      return n;
    }
    case 'bool':
      if (/^(true|false)$/i.test(t)) {
        return t.toLowerCase() === 'true';
      }
      throw new Error(`"${t}" is not true or false`);
    case 'str':
      return text;
    default:
      try {
        return JSON.parse(t);
      } catch {
        return text;
      }
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map(s => s.trim())
    .filter(s => s.length > 0);
}

/** How many runs a grid of these fields makes (null when a field cannot be read). */
export function gridCount(fields: IField[]): number | null {
  let count = 1;
  for (const f of fields) {
    if (f.mode === 'list') {
      count *= splitList(f.list).length;
    } else if (f.mode === 'range') {
      const [low, high, step] = [f.low, f.high, f.step].map(Number);
      if (!isFinite(low) || !isFinite(high) || !(step > 0) || high < low) {
        return null;
      }
      count *= Math.floor((high - low) / step + 1e-9) + 1;
    }
  }
  return count;
}

/** The form of "Run as experiment": one field per parameter, each a value, a list or
 * a range; grid or random search; the count of runs it makes. */
export class RunForm extends ReactWidget {
  constructor(
    readonly info: INotebookParameters,
    initial: Record<string, unknown> = {}
  ) {
    super();
    this.addClass('jp-mllab-run-form');
    this.fields = info.parameters.map(p => {
      const start = p.name in initial ? initial[p.name] : p.default;
      return {
        mode: 'value',
        value: show(start, p),
        list: show(start, p),
        low: '',
        high: '',
        step: '',
        log: false
      };
    });
  }

  fields: IField[];
  search: 'grid' | 'random' = 'grid';
  trials = '8';
  seed = '0';
  timeout = '';
  tags = '';
  datasets = '';
  // Files: run in the notebook's own folder, or which written files become outputs
  inPlace = false;
  include = '';
  exclude = '';
  maxFileMb = '';
  error = '';

  /** A new form with this one's state (a dialog disposes its body when it closes). */
  clone(): RunForm {
    const next = new RunForm(this.info);
    next.fields = this.fields.map(f => ({ ...f }));
    next.search = this.search;
    next.trials = this.trials;
    next.seed = this.seed;
    next.timeout = this.timeout;
    next.tags = this.tags;
    next.datasets = this.datasets;
    next.inPlace = this.inPlace;
    next.include = this.include;
    next.exclude = this.exclude;
    next.maxFileMb = this.maxFileMb;
    return next;
  }

  setError(message: string): void {
    this.error = message;
    this.update();
  }

  /** The submission (throws with a message a person can act on). */
  toSubmission(): ISubmit {
    const parameters: Record<string, unknown> = {};
    this.info.parameters.forEach((p, i) => {
      const f = this.fields[i];
      const tell = (e: unknown) =>
        new Error(`${p.name}: ${(e as Error).message}`);
      try {
        if (f.mode === 'value') {
          const value = parseValue(f.value, p.type);
          if (show(value, p) !== show(p.default, p)) {
            parameters[p.name] = value;
          }
        } else if (f.mode === 'list') {
          const values = splitList(f.list).map(v => parseValue(v, p.type));
          if (this.search === 'random') {
            parameters[p.name] = { choices: values };
          } else {
            parameters[p.name] = { values };
          }
        } else {
          const range: Record<string, unknown> = {
            low: Number(f.low),
            high: Number(f.high)
          };
          if (f.step) {
            range.step = Number(f.step);
          }
          if (f.log) {
            range.log = true;
          }
          parameters[p.name] = { range };
        }
      } catch (e) {
        throw tell(e);
      }
    });
    const body: ISubmit = { notebook: this.info.path, parameters };
    if (this.search === 'random') {
      body.search = {
        kind: 'random',
        trials: parseInt(this.trials, 10),
        seed: parseInt(this.seed, 10) || 0
      };
    }
    if (this.timeout.trim()) {
      body.timeout = Number(this.timeout);
    }
    const tags: Record<string, string> = {};
    for (const pair of splitList(this.tags)) {
      const [k, ...v] = pair.split('=');
      tags[k.trim()] = v.join('=').trim();
    }
    body.tags = tags;
    body.datasets = splitList(this.datasets);
    if (this.inPlace) {
      body.in_place = true;
    }
    const outputs: NonNullable<ISubmit['outputs']> = {};
    if (this.include.trim()) {
      outputs.include = splitList(this.include);
    }
    if (this.exclude.trim()) {
      outputs.exclude = splitList(this.exclude);
    }
    if (this.maxFileMb.trim()) {
      const mb = Number(this.maxFileMb);
      if (!(mb > 0)) {
        throw new Error(
          `Output size cap: "${this.maxFileMb}" is not a positive number`
        );
      }
      outputs.max_file_bytes = Math.round(mb * 2 ** 20);
    }
    if (Object.keys(outputs).length) {
      body.outputs = outputs;
    }
    return body;
  }

  runCount(): number | null {
    if (this.search === 'random') {
      const n = parseInt(this.trials, 10);
      return n > 0 ? n : null;
    }
    return gridCount(this.fields);
  }

  render(): JSX.Element {
    return <FormBody form={this} />;
  }
}

function FormBody(props: { form: RunForm }): JSX.Element {
  const form = props.form;
  const [, setTick] = useState(0);
  const redraw = () => {
    form.error = ''; // an edit answers the last complaint
    setTick(t => t + 1);
  };
  const set = (i: number, patch: Partial<IField>) => {
    form.fields[i] = { ...form.fields[i], ...patch };
    redraw();
  };
  const count = form.runCount();
  const params = form.info.parameters;
  return (
    <div className="jp-mllab-run-form-body">
      <div className="jp-mllab-run-notebook">{form.info.path}</div>
      {!form.info.has_parameters_cell && (
        <div className="jp-mllab-hint">
          This notebook has no cell tagged <code>parameters</code>: it runs as
          it is. Mark one with the cell toolbar's ML Lab button to vary values.
        </div>
      )}
      {params.length > 0 && (
        <table className="jp-mllab-run-params">
          <tbody>
            {params.map((p, i) => {
              const f = form.fields[i];
              return (
                <tr key={p.name} title={p.help}>
                  <td className="jp-mllab-param-name">
                    {p.name}
                    <span className="jp-mllab-param-type">{p.type}</span>
                  </td>
                  <td>
                    <select
                      className="jp-mod-styled"
                      aria-label={`${p.name} mode`}
                      value={f.mode}
                      onChange={e => set(i, { mode: e.target.value as Mode })}
                    >
                      <option value="value">value</option>
                      <option value="list">list</option>
                      {(p.type === 'int' || p.type === 'float') && (
                        <option value="range">range</option>
                      )}
                    </select>
                  </td>
                  <td className="jp-mllab-param-input">
                    {f.mode === 'value' && (
                      <input
                        className="jp-mod-styled"
                        aria-label={p.name}
                        value={f.value}
                        onChange={e => set(i, { value: e.target.value })}
                      />
                    )}
                    {f.mode === 'list' && (
                      <input
                        className="jp-mod-styled"
                        aria-label={`${p.name} values`}
                        placeholder="comma-separated values"
                        value={f.list}
                        onChange={e => set(i, { list: e.target.value })}
                      />
                    )}
                    {f.mode === 'range' && (
                      <span className="jp-mllab-range">
                        {(['low', 'high', 'step'] as const).map(k => (
                          <input
                            key={k}
                            className="jp-mod-styled"
                            aria-label={`${p.name} ${k}`}
                            placeholder={k === 'step' ? 'step (grid)' : k}
                            value={f[k]}
                            onChange={e => set(i, { [k]: e.target.value })}
                          />
                        ))}
                        <label>
                          <input
                            type="checkbox"
                            checked={f.log}
                            onChange={e => set(i, { log: e.target.checked })}
                          />
                          log
                        </label>
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="jp-mllab-run-options">
        <label>
          Search{' '}
          <select
            className="jp-mod-styled"
            aria-label="search"
            value={form.search}
            onChange={e => {
              form.search = e.target.value as 'grid' | 'random';
              redraw();
            }}
          >
            <option value="grid">grid</option>
            <option value="random">random</option>
          </select>
        </label>
        {form.search === 'random' && (
          <>
            <label>
              Trials{' '}
              <input
                className="jp-mod-styled jp-mllab-small-input"
                aria-label="trials"
                value={form.trials}
                onChange={e => {
                  form.trials = e.target.value;
                  redraw();
                }}
              />
            </label>
            <label>
              Seed{' '}
              <input
                className="jp-mod-styled jp-mllab-small-input"
                aria-label="seed"
                value={form.seed}
                onChange={e => {
                  form.seed = e.target.value;
                  redraw();
                }}
              />
            </label>
          </>
        )}
        {(
          [
            ['timeout', 'Timeout (s)', 'none'],
            ['tags', 'Tags', 'key=value, ...'],
            ['datasets', 'Datasets', 'wine@1, ...']
          ] as const
        ).map(([key, label, placeholder]) => (
          <label key={key}>
            {label}{' '}
            <input
              className="jp-mod-styled"
              aria-label={key}
              placeholder={placeholder}
              value={form[key]}
              onChange={e => {
                form[key] = e.target.value;
                redraw();
              }}
            />
          </label>
        ))}
      </div>
      <details className="jp-mllab-run-files">
        <summary>Files</summary>
        <label>
          <input
            type="checkbox"
            aria-label="run in place"
            checked={form.inPlace}
            onChange={e => {
              form.inPlace = e.target.checked;
              redraw();
            }}
          />
          Run in place (in the notebook&apos;s folder; its files are not saved
          as outputs)
        </label>
        {!form.inPlace &&
          (
            [
              ['include', 'Save outputs', '** (every file)'],
              [
                'exclude',
                'Except',
                '.ipynb_checkpoints/**, __pycache__/**, **/*.pyc'
              ],
              ['maxFileMb', 'Largest file (MB)', '100']
            ] as const
          ).map(([key, label, placeholder]) => (
            <label key={key}>
              {label}{' '}
              <input
                className="jp-mod-styled"
                aria-label={key}
                placeholder={placeholder}
                value={form[key]}
                onChange={e => {
                  form[key] = e.target.value;
                  redraw();
                }}
              />
            </label>
          ))}
      </details>
      <div className="jp-mllab-run-count" aria-live="polite">
        {count === null
          ? 'Fill in the ranges to see how many runs this makes.'
          : count === 1
            ? 'This makes 1 run.'
            : `This makes ${count} runs${form.search === 'grid' ? ' (a grid)' : ' (random search)'}.`}
      </div>
      {(form.info?.warnings ?? []).map(w => (
        <div key={w} className="jp-mllab-warning" role="note">
          {w}
        </div>
      ))}
      {form.error && <div className="jp-mllab-error">{form.error}</div>}
    </div>
  );
}
