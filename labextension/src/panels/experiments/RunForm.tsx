import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { INotebookParameters, IParameter, ISubmit } from '../../api/jobs';
import {
  cloneSpec,
  IField,
  initialSpec,
  IRunSpec,
  Mode,
  planSentence,
  runLabel,
  Search,
  toSubmission
} from './runSpec';
import { PlanState, usePlan } from './usePlan';

/** The form of "Run as experiment": one field per parameter, each a value, a list or
 * a range; grid or random search; the count of runs it makes (the server's plan). */
export class RunForm extends ReactWidget {
  constructor(
    readonly info: INotebookParameters,
    initial: Record<string, unknown> = {}
  ) {
    super();
    this.addClass('jp-mllab-run-form');
    this.spec = initialSpec(info, initial);
  }

  spec: IRunSpec;
  error = '';

  /** A new form with this one's state (a dialog disposes its body when it closes). */
  clone(): RunForm {
    const next = new RunForm(this.info);
    next.spec = cloneSpec(this.spec);
    return next;
  }

  setError(message: string): void {
    this.error = message;
    this.update();
  }

  /** The submission (throws with a message a person can act on). */
  toSubmission(): ISubmit {
    return toSubmission(this.info, this.spec);
  }

  render(): JSX.Element {
    return <FormBody form={this} />;
  }
}

function PlanLine(props: { state: PlanState }): JSX.Element {
  const s = props.state;
  const plan = s.kind === 'plan' ? s.plan : null;
  return (
    <div className="jp-mllab-run-plan" aria-busy={s.kind === 'pending'}>
      <div
        className={`jp-mllab-run-count${s.kind === 'invalid' ? ' jp-mllab-invalid' : ''}`}
        aria-live="polite"
      >
        {s.kind === 'pending'
          ? 'Counting the runs…'
          : s.kind === 'plan'
            ? planSentence(s.plan)
            : s.message}
      </div>
      {plan && plan.count > 1 && (
        <ol aria-label="first runs">
          {plan.runs.map((r, i) => (
            <li key={i}>{runLabel(r)}</li>
          ))}
          {plan.count > plan.runs.length && (
            <li className="jp-mllab-run-plan-more">
              … and {plan.count - plan.runs.length} more
            </li>
          )}
        </ol>
      )}
    </div>
  );
}

function ParamRow(props: {
  param: IParameter;
  field: IField;
  set: (patch: Partial<IField>) => void;
}): JSX.Element {
  const { param: p, field: f, set } = props;
  return (
    <tr title={p.help}>
      <th scope="row" className="jp-mllab-param-name">
        {p.name}
        <span className="jp-mllab-param-type">{p.type}</span>
      </th>
      <td>
        <select
          className="jp-mod-styled"
          aria-label={`${p.name} mode`}
          value={f.mode}
          onChange={e => set({ mode: e.target.value as Mode })}
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
            onChange={e => set({ value: e.target.value })}
          />
        )}
        {f.mode === 'list' && (
          <input
            className="jp-mod-styled"
            aria-label={`${p.name} values`}
            placeholder="comma-separated values"
            value={f.list}
            onChange={e => set({ list: e.target.value })}
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
                onChange={e => set({ [k]: e.target.value })}
              />
            ))}
            <label>
              <input
                type="checkbox"
                checked={f.log}
                onChange={e => set({ log: e.target.checked })}
              />
              log
            </label>
          </span>
        )}
      </td>
    </tr>
  );
}

type TextKey = Exclude<keyof IRunSpec, 'fields' | 'search' | 'inPlace'>;

function FormBody(props: { form: RunForm }): JSX.Element {
  const form = props.form;
  const spec = form.spec;
  const [version, setVersion] = useState(0);
  const edit = (patch: Partial<IRunSpec>) => {
    Object.assign(form.spec, patch);
    form.error = ''; // an edit answers the last complaint
    setVersion(v => v + 1);
  };
  const setField = (i: number, patch: Partial<IField>) => {
    const fields = [...spec.fields];
    fields[i] = { ...fields[i], ...patch };
    edit({ fields });
  };
  const plan = usePlan(form.info, spec, version);
  const text = (key: TextKey, label: string, placeholder: string) => (
    <label key={key}>
      {label}{' '}
      <input
        className="jp-mod-styled"
        aria-label={key}
        placeholder={placeholder}
        value={spec[key]}
        onChange={e => edit({ [key]: e.target.value })}
      />
    </label>
  );
  const params = form.info.parameters;
  return (
    <div className="jp-mllab-run-form-body">
      <div className="jp-mllab-run-notebook">{form.info.path}</div>
      {!form.info.has_parameters_cell && (
        <div className="jp-mllab-hint">
          This notebook has no cell tagged <code>parameters</code>: it runs as
          it is. Mark one with the cell toolbar&apos;s ML Lab button to vary
          values.
        </div>
      )}
      {params.length > 0 && (
        <table className="jp-mllab-run-params" aria-label="parameters">
          <thead>
            <tr>
              <th scope="col">Parameter</th>
              <th scope="col">Kind</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {params.map((p, i) => (
              <ParamRow
                key={p.name}
                param={p}
                field={spec.fields[i]}
                set={patch => setField(i, patch)}
              />
            ))}
          </tbody>
        </table>
      )}
      <div className="jp-mllab-run-options">
        <label>
          Search{' '}
          <select
            className="jp-mod-styled"
            aria-label="search"
            value={spec.search}
            onChange={e => edit({ search: e.target.value as Search })}
          >
            <option value="grid">grid</option>
            <option value="random">random</option>
          </select>
        </label>
        {spec.search === 'random' && (
          <>
            <label>
              Trials{' '}
              <input
                className="jp-mod-styled jp-mllab-small-input"
                aria-label="trials"
                value={spec.trials}
                onChange={e => edit({ trials: e.target.value })}
              />
            </label>
            <label>
              Seed{' '}
              <input
                className="jp-mod-styled jp-mllab-small-input"
                aria-label="seed"
                value={spec.seed}
                onChange={e => edit({ seed: e.target.value })}
              />
            </label>
          </>
        )}
        {text('timeout', 'Timeout (s)', 'none')}
        {text('tags', 'Tags', 'key=value, ...')}
        {text('datasets', 'Datasets', 'wine@1, ...')}
      </div>
      <details className="jp-mllab-run-files">
        <summary>Files</summary>
        <label>
          <input
            type="checkbox"
            aria-label="run in place"
            checked={spec.inPlace}
            onChange={e => edit({ inPlace: e.target.checked })}
          />
          Run in place (in the notebook&apos;s folder; its files are not saved
          as outputs)
        </label>
        {!spec.inPlace && (
          <>
            {text('include', 'Save outputs', '** (every file)')}
            {text(
              'exclude',
              'Except',
              '.ipynb_checkpoints/**, __pycache__/**, **/*.pyc'
            )}
            {text('maxFileMb', 'Largest file (MB)', '100')}
          </>
        )}
      </details>
      <PlanLine state={plan} />
      {(form.info?.warnings ?? []).map(w => (
        <div key={w} className="jp-mllab-warning" role="note">
          {w}
        </div>
      ))}
      {form.error && (
        <div className="jp-mllab-error" role="alert">
          {form.error}
        </div>
      )}
    </div>
  );
}
