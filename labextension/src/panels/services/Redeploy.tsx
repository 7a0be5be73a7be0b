import { showErrorMessage } from '@jupyterlab/apputils';
import React, { useEffect, useState } from 'react';

import {
  getModel,
  getModelVersion,
  IModelVersionDetail,
  listModelVersions
} from '../../api/models';
import { IService, redeployService } from '../../api/services';
import { IModelActions, LineageView } from '../models/VersionDetail';
import { modelOf } from './format';

/**
 * Serve another version (or an alias, which the service then follows): a select of
 * the model's versions and aliases; the new process takes over once it is healthy.
 */
export function Redeploy(props: {
  service: IService;
  onRedeployed: (svc: IService) => void;
}): JSX.Element | null {
  const s = props.service;
  const m = modelOf(s);
  const [choices, setChoices] = useState<{ value: string; label: string }[]>(
    []
  );
  const [picked, setPicked] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!m) {
      return;
    }
    let active = true;
    void Promise.all([
      getModel(m.project, m.name),
      listModelVersions(m.project, m.name, 0, 100)
    ])
      .then(([model, page]) => {
        if (!active) {
          return;
        }
        const aliases = Object.entries(model.aliases).map(([alias, v]) => ({
          value: `${m.name}@${alias}`,
          label: `@${alias} (v${v}, and follow it)`
        }));
        const versions = page.versions.map(v => ({
          value: `${m.name}@${v.version}`,
          label: `v${v.version}${v.version === s.model?.version ? ' (serving)' : ''}`
        }));
        setChoices([...versions, ...aliases]);
      })
      .catch(() => active && setChoices([]));
    return () => {
      active = false;
    };
  }, [m?.project, m?.name, s.model?.version]);

  if (!m) {
    return null;
  }
  const current = s.source.alias
    ? `${m.name}@${s.source.alias}`
    : `${m.name}@${s.model?.version}`;
  const value = picked || current;
  const redeploy = async () => {
    setBusy(true);
    try {
      props.onRedeployed(
        await redeployService(s.name, `${m.project}/${value}`)
      );
      setPicked('');
    } catch (e) {
      await showErrorMessage(`Cannot redeploy ${s.name}`, e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="jp-mllab-redeploy">
      <label>
        Serve{' '}
        <select
          className="jp-mod-styled jp-mllab-redeploy-version"
          aria-label={`The version of ${m.project}/${m.name} to serve`}
          value={value}
          onChange={e => setPicked(e.target.value)}
        >
          {choices.some(c => c.value === current) ? null : (
            <option value={current}>{current}</option>
          )}
          {choices.map(c => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      <button
        className="jp-mod-styled jp-mllab-redeploy-button"
        disabled={busy || value === current}
        title="A new process loads it; traffic switches when it is healthy and the old one drains"
        onClick={() => void redeploy()}
      >
        {busy ? 'Redeploying…' : 'Redeploy'}
      </button>
    </div>
  );
}

/** The served version's lineage: version -> run -> notebook@sha -> datasets. */
export function ServiceLineage(props: {
  service: IService;
  actions: IModelActions;
  openModel: (project: string, name: string, version?: number) => void;
}): JSX.Element {
  const s = props.service;
  const m = modelOf(s);
  const version = s.model?.version ?? null;
  const [detail, setDetail] = useState<IModelVersionDetail | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    if (!m || version === null) {
      setDetail(null);
      return;
    }
    let active = true;
    getModelVersion(m.project, m.name, version)
      .then(d => active && (setDetail(d), setError('')))
      .catch(e => active && setError((e as Error).message));
    return () => {
      active = false;
    };
  }, [m?.project, m?.name, version]);
  if (!m || version === null) {
    return (
      <div className="jp-mllab-muted">
        Served from a bundle: its lineage is in the bundle’s model card.
      </div>
    );
  }
  return (
    <>
      <dl className="jp-mllab-fields">
        <dt>Version</dt>
        <dd>
          <a
            className="jp-mllab-link jp-mllab-service-version-link"
            title={`Open the page of ${s.model?.key}`}
            onClick={() => props.openModel(m.project, m.name, version)}
          >
            {s.model?.key}
          </a>
        </dd>
      </dl>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {detail ? (
        <LineageView lineage={detail.lineage} actions={props.actions} />
      ) : null}
    </>
  );
}
