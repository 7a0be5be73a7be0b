import React, { useEffect, useState } from 'react';

import { datasetUsage, IDatasetUsage } from '../../api/models';

/** What a dataset page can open: a run's page, a model's page. */
export interface IUsedByActions {
  openJob: (id: string) => void;
  openModel: (project: string, name: string, version: number) => void;
}

/** A dataset version's "Used by": the runs that opened it and the models they made. */
export function UsedBy(props: {
  project: string;
  name: string;
  version: number;
  actions: IUsedByActions;
}): JSX.Element {
  const { project, name, version, actions } = props;
  const [usage, setUsage] = useState<IDatasetUsage | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let active = true;
    datasetUsage(project, name, version)
      .then(u => active && setUsage(u))
      .catch(e => active && setError((e as Error).message));
    return () => {
      active = false;
    };
  }, [project, name, version]);
  return (
    <section className="jp-mllab-used-by">
      <h3>Used by</h3>
      {error ? (
        <div className="jp-mllab-muted">Cannot tell: {error}</div>
      ) : !usage ? (
        <div className="jp-mllab-muted">Loading…</div>
      ) : !usage.runs.length && !usage.models.length ? (
        <div className="jp-mllab-muted">
          No run has opened this version yet.
        </div>
      ) : (
        <dl className="jp-mllab-fields">
          <dt>Runs</dt>
          <dd>
            <ul className="jp-mllab-used-by-runs">
              {usage.runs.map(r => (
                <li key={r.run_id}>
                  {r.job_id ? (
                    <a
                      className="jp-mllab-link"
                      onClick={() => actions.openJob(r.job_id!)}
                    >
                      {r.run_name || r.run_id}
                    </a>
                  ) : (
                    <span>{r.run_name || r.run_id}</span>
                  )}{' '}
                  <span className="jp-mllab-muted">{r.status}</span>
                </li>
              ))}
              {usage.runs.length ? null : <li>—</li>}
            </ul>
          </dd>
          <dt>Models</dt>
          <dd>
            <ul className="jp-mllab-used-by-models">
              {usage.models.map(m => (
                <li key={m.key}>
                  <a
                    className="jp-mllab-link"
                    onClick={() =>
                      actions.openModel(m.project, m.name, m.version)
                    }
                  >
                    {m.key}
                  </a>
                </li>
              ))}
              {usage.models.length ? null : <li>—</li>}
            </ul>
          </dd>
        </dl>
      )}
    </section>
  );
}
