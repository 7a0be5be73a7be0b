import { Notification } from '@jupyterlab/apputils';
import React, { useEffect, useState } from 'react';

import { IRunModels, registerModel, runModels } from '../../api/models';
import { actionDialog, RegisterForm } from './dialogs';

/**
 * A finished run's "Models" section: the versions registered from its MLflow run (a
 * click opens the model page) and the MLflow models it logged that are not registered
 * yet (e.g. by autolog), each with "Register model".
 */
export function RunModels(props: {
  runId: string;
  project: string;
  openModel: (project: string, name: string, version: number) => void;
}): JSX.Element | null {
  const { runId, project } = props;
  const [data, setData] = useState<IRunModels | null>(null);
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let active = true;
    runModels(runId)
      .then(d => {
        if (active) {
          setData(d);
          setError('');
        }
      })
      .catch(e => active && setError((e as Error).message));
    return () => {
      active = false;
    };
  }, [runId, reload]);

  if (error) {
    return (
      <section className="jp-mllab-run-models">
        <h3>Models</h3>
        <div className="jp-mllab-muted">Cannot list its models: {error}</div>
      </section>
    );
  }
  if (!data || (!data.logged.length && !data.registered.length)) {
    return null; // a run that logged no model has no section
  }
  // a version registered from a logged model carries its artifact path (CONTRACT C3)
  const unregistered = data.logged.filter(
    m =>
      !data.registered.some(
        v =>
          v.tags?.['mllab.artifact_path'] === m.artifact_path ||
          (v.source ?? '').endsWith(`/${m.artifact_path}`)
      )
  );
  const register = async (artifactPath: string) => {
    const version = await actionDialog({
      title: `Register ${artifactPath} as a model`,
      form: new RegisterForm(artifactPath, project),
      accept: 'Register',
      busy: 'Registering…',
      action: ({ name, alias, description }) =>
        registerModel(project, {
          run_id: runId,
          artifact_path: artifactPath,
          name,
          alias: alias || null,
          description: description || null
        })
    });
    if (version) {
      Notification.success(`Registered ${version.key}`, { autoClose: 3000 });
      setReload(r => r + 1);
      props.openModel(version.project, version.name, version.version);
    }
  };
  return (
    <section className="jp-mllab-run-models">
      <h3>Models</h3>
      <ul className="jp-mllab-run-models-list">
        {data.registered.map(v => (
          <li key={v.key} className="jp-mllab-run-model-registered">
            <a
              className="jp-mllab-link"
              onClick={() => props.openModel(v.project, v.name, v.version)}
            >
              {v.key}
            </a>{' '}
            <span className="jp-mllab-muted">
              {[v.flavor, v.format, ...v.aliases.map(a => `@${a}`)]
                .filter(Boolean)
                .join(' · ')}
            </span>
          </li>
        ))}
        {unregistered.map(m => (
          <li
            key={m.artifact_path}
            className="jp-mllab-run-model-logged"
            data-artifact-path={m.artifact_path}
          >
            <code>{m.artifact_path}</code>{' '}
            <span className="jp-mllab-muted">
              {m.flavors.join(', ')} · not registered
            </span>{' '}
            <button
              className="jp-mod-styled jp-mllab-register-model"
              onClick={() => void register(m.artifact_path)}
            >
              Register model
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
