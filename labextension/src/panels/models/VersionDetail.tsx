import React from 'react';

import { IColumnSpec, ILineage, IModelVersionDetail } from '../../api/models';
import { formatBytes } from '../datasets/format';
import { formatValue } from './format';

/** What a model page can open: runs, notebooks, datasets (commands of other panels). */
export interface IModelActions {
  openJob: (id: string) => void;
  openJobOutput: (id: string, notebook: string) => void;
  openNotebook: (path: string) => void;
  openDataset: (project: string, name: string, version: number) => void;
  /** The registry changed (an alias, a deleted version): the panel refreshes. */
  changed: () => void;
  /** Deploy `model` ("wine@3", "wine@champion") of `project` as a service and open its page. */
  deploy: (project: string, model: string) => void;
}

function ColumnsTable(props: {
  title: string;
  columns: IColumnSpec[] | null;
}): JSX.Element | null {
  if (!props.columns) {
    return null;
  }
  return (
    <table className="jp-mllab-preview-table jp-mllab-signature-table">
      <caption>{props.title}</caption>
      <thead>
        <tr>
          <th>column</th>
          <th>type</th>
        </tr>
      </thead>
      <tbody>
        {props.columns.map((c, i) => (
          <tr key={i}>
            <td>{c.name ?? `#${i}`}</td>
            <td>{c.type}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Section(props: {
  title: string;
  className: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className={`jp-mllab-model-section ${props.className}`}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

function KeyValues(props: {
  values: { [key: string]: unknown };
  empty: string;
  className: string;
}): JSX.Element {
  const entries = Object.entries(props.values);
  if (!entries.length) {
    return <div className="jp-mllab-muted">{props.empty}</div>;
  }
  return (
    <table className={`jp-mllab-preview-table ${props.className}`}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k} data-name={k}>
            <th>{k}</th>
            <td>{formatValue(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LineageView(props: {
  lineage: ILineage;
  actions: IModelActions;
}): JSX.Element {
  const { lineage: l, actions } = props;
  const run = l.run ?? null;
  const jobId = run?.job_id ?? null;
  const notebook = l.notebook;
  const openNotebook = () => {
    if (!notebook) {
      return;
    }
    if (jobId) {
      actions.openJobOutput(jobId, notebook.path);
    } else {
      actions.openNotebook(notebook.path);
    }
  };
  return (
    <dl className="jp-mllab-fields jp-mllab-lineage">
      <dt>Run</dt>
      <dd className="jp-mllab-lineage-run">
        {!run ? (
          '—'
        ) : (
          <>
            {jobId ? (
              <a
                className="jp-mllab-link"
                title={`Open run ${jobId}`}
                onClick={() => actions.openJob(jobId)}
              >
                {run.run_name || run.run_id}
              </a>
            ) : (
              <span>{run.run_name || run.run_id}</span>
            )}{' '}
            <span className="jp-mllab-muted">
              {run.status} · MLflow run <code>{run.run_id}</code>
            </span>
          </>
        )}
      </dd>
      <dt>Notebook</dt>
      <dd className="jp-mllab-lineage-notebook">
        {notebook ? (
          <>
            <a
              className="jp-mllab-link"
              title={
                jobId
                  ? "Open the run's output notebook"
                  : 'Open the notebook (as it is now)'
              }
              onClick={openNotebook}
            >
              {notebook.path}
            </a>{' '}
            {notebook.sha256 ? (
              <code className="jp-mllab-sha" title={notebook.sha256}>
                sha256 {notebook.sha256.slice(0, 12)}
              </code>
            ) : null}
          </>
        ) : (
          '—'
        )}
      </dd>
      <dt>Git commit</dt>
      <dd>{l.git_commit ? <code>{l.git_commit}</code> : '—'}</dd>
      <dt>Datasets</dt>
      <dd className="jp-mllab-lineage-datasets">
        {l.datasets?.length
          ? l.datasets.map(d =>
              d.project && d.name && d.version ? (
                <a
                  key={d.key}
                  className="jp-mllab-link jp-mllab-lineage-dataset"
                  title={`sha256 ${d.sha256}`}
                  onClick={() =>
                    actions.openDataset(d.project!, d.name!, d.version!)
                  }
                >
                  {d.key}
                </a>
              ) : (
                // a dataset of no project of this lab (or gone): its key and digest only
                <span
                  key={d.key}
                  className="jp-mllab-lineage-dataset"
                  title={`sha256 ${d.sha256}`}
                >
                  {d.key}
                </span>
              )
            )
          : 'none opened'}
      </dd>
      {Object.keys(l.environment ?? {}).length ? (
        <>
          <dt>Environment</dt>
          <dd>
            <details>
              <summary>{Object.keys(l.environment).length} tags</summary>
              <KeyValues
                values={l.environment}
                empty=""
                className="jp-mllab-lineage-env"
              />
            </details>
          </dd>
        </>
      ) : null}
    </dl>
  );
}

/** One version's signature, input example, metrics, parameters, lineage and files. */
export function VersionDetail(props: {
  detail: IModelVersionDetail;
  actions: IModelActions;
}): JSX.Element {
  const d = props.detail;
  const example = d.input_example;
  return (
    <div className="jp-mllab-version-detail" data-version={d.version}>
      <Section title="Signature" className="jp-mllab-model-signature">
        {d.signature?.inputs || d.signature?.outputs ? (
          <div className="jp-mllab-signature">
            <ColumnsTable title="Inputs" columns={d.signature.inputs} />
            <ColumnsTable title="Outputs" columns={d.signature.outputs} />
          </div>
        ) : (
          <div className="jp-mllab-muted">
            Logged without a signature (no sample to infer it from).
          </div>
        )}
      </Section>
      {example ? (
        <Section title="Input example" className="jp-mllab-model-example">
          <div
            className="jp-mllab-preview-table-wrap"
            tabIndex={0}
            role="region"
            aria-label="Input example"
          >
            <table className="jp-mllab-preview-table">
              <thead>
                <tr>
                  {example.columns.map((c, i) => (
                    <th key={i}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {example.data.map((row, i) => (
                  <tr key={i}>
                    {row.map((cell, j) => (
                      <td key={j}>{formatValue(cell)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {example.truncated ? (
            <div className="jp-mllab-muted">The first rows only.</div>
          ) : null}
        </Section>
      ) : null}
      <Section title="Metrics" className="jp-mllab-model-metrics">
        <KeyValues
          values={d.metrics ?? {}}
          empty="The run logged no metrics."
          className="jp-mllab-metrics-table"
        />
      </Section>
      <Section title="Parameters" className="jp-mllab-model-params">
        <KeyValues
          values={d.params ?? {}}
          empty="The run logged no parameters."
          className="jp-mllab-params-table"
        />
      </Section>
      <Section title="Lineage" className="jp-mllab-model-lineage">
        <LineageView lineage={d.lineage} actions={props.actions} />
      </Section>
      <Section title="Files" className="jp-mllab-model-files">
        <ul className="jp-mllab-preview-files">
          {(d.files ?? []).map(f => (
            <li key={f.path}>
              <span>{f.path}</span>
              <span className="jp-mllab-muted">{formatBytes(f.size)}</span>
            </li>
          ))}
        </ul>
        {d.files_truncated ? (
          <div className="jp-mllab-muted">And more files.</div>
        ) : null}
      </Section>
    </div>
  );
}
