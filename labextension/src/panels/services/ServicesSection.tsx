import { Clipboard, Notification } from '@jupyterlab/apputils';
import {
  closeIcon,
  copyIcon,
  refreshIcon,
  runIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import { IService, listServices } from '../../api/services';
import { LabModel } from '../../model';
import { onEnterOrSpace } from '../keyboard';
import { usePoll } from '../../poll';
import { canStop, confirmRemove, IServiceActions, runAction } from './actions';
import {
  dotClass,
  formatMs,
  formatUptime,
  servedText,
  statusText
} from './format';

/** Copy a text to the clipboard and say so. */
export function copyText(text: string, what: string): void {
  Clipboard.copyToSystem(text);
  Notification.success(`Copied ${what}`, { autoClose: 2000 });
}

function ServiceRow(props: {
  service: IService;
  actions: IServiceActions;
  reload: () => void;
}): JSX.Element {
  const s = props.service;
  const [busy, setBusy] = useState(false);
  const act = async (what: 'stop' | 'start' | 'restart' | 'remove') => {
    setBusy(true);
    try {
      if (what === 'remove') {
        await confirmRemove(s);
      } else {
        await runAction(s, what);
      }
    } finally {
      setBusy(false);
      props.reload();
      props.actions.changed();
    }
  };
  const open = () => props.actions.openService(s.name);
  return (
    <li
      className="jp-mllab-service-row"
      data-name={s.name}
      data-status={s.status}
      tabIndex={0}
      aria-label={`Service ${s.name}: ${statusText(s)}, serving ${servedText(s)}`}
      title={s.error ?? `Open the page of ${s.name}`}
      onClick={open}
      onKeyDown={e => onEnterOrSpace(e, open)}
    >
      <span className="jp-mllab-service-title">
        <span className={dotClass(s)} title={statusText(s)} />
        <span className="jp-mllab-service-name">{s.name}</span>
        <span className="jp-mllab-service-model">{servedText(s)}</span>
      </span>
      <span
        className="jp-mllab-service-actions"
        onClick={e => e.stopPropagation()}
      >
        {canStop(s) ? (
          <>
            <button
              className="jp-mllab-icon-button jp-mllab-service-restart"
              aria-label={`Restart ${s.name}`}
              title="Restart"
              disabled={busy}
              onClick={() => void act('restart')}
            >
              <refreshIcon.react tag="span" />
            </button>
            <button
              className="jp-mllab-icon-button jp-mllab-service-stop"
              aria-label={`Stop ${s.name}`}
              title="Stop"
              disabled={busy}
              onClick={() => void act('stop')}
            >
              <stopIcon.react tag="span" />
            </button>
          </>
        ) : (
          <button
            className="jp-mllab-icon-button jp-mllab-service-start"
            aria-label={`Start ${s.name}`}
            title="Start"
            disabled={busy || s.status === 'stopping'}
            onClick={() => void act('start')}
          >
            <runIcon.react tag="span" />
          </button>
        )}
        <button
          className="jp-mllab-icon-button jp-mllab-service-remove"
          aria-label={`Remove ${s.name}`}
          title="Remove…"
          disabled={busy}
          onClick={() => void act('remove')}
        >
          <closeIcon.react tag="span" />
        </button>
      </span>
      <span className="jp-mllab-service-url">
        <code>{s.url}</code>
        <button
          className="jp-mllab-icon-button jp-mllab-copy-url"
          aria-label={`Copy the URL of ${s.name}`}
          title="Copy URL"
          onClick={e => {
            e.stopPropagation();
            copyText(s.url, s.url);
          }}
        >
          <copyIcon.react tag="span" />
        </button>
      </span>
      <span className="jp-mllab-muted jp-mllab-service-meta">
        <span className="jp-mllab-service-status">{statusText(s)}</span>
        {s.uptime_s !== null ? ` · up ${formatUptime(s.uptime_s)}` : ''}
        {' · '}
        <span className="jp-mllab-service-requests">
          {s.requests} request{s.requests === 1 ? '' : 's'}
        </span>
        {s.p50_ms !== null ? ` · p50 ${formatMs(s.p50_ms)}` : ''}
      </span>
    </li>
  );
}

/**
 * The Models & Services panel's Services: the current project's services, live (faster
 * while one starts or stops).
 */
export function ServicesSection(props: {
  model: LabModel;
  project: string;
  actions: IServiceActions;
}): JSX.Element {
  const { project } = props;
  const [rows, setRows] = useState<IService[] | null>(null);
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      setRows(await listServices(project));
      setError('');
    } catch (e) {
      setError((e as Error).message);
      throw e; // the poll backs off
    }
  }, [project]);
  const settling = (rows ?? []).some(
    s =>
      s.status !== 'stopped' &&
      s.status !== 'failed' &&
      !(s.status === 'running' && s.ready)
  );
  const { refresh } = usePoll(load, {
    name: `jupyter-mllab:services:${project}`,
    interval: settling ? 1000 : 3000,
    deps: [project]
  });
  const reload = useCallback(
    () => void refresh().catch(() => undefined),
    [refresh]
  );

  useEffect(() => {
    props.model.changed.connect(reload);
    return () => {
      props.model.changed.disconnect(reload);
    };
  }, [reload]);

  return (
    <section className="jp-mllab-services" aria-label="Services">
      <h3 className="jp-mllab-services-title">
        Services{' '}
        {rows?.length ? (
          <span className="jp-mllab-muted">({rows.length})</span>
        ) : null}
      </h3>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {rows !== null && !rows.length ? (
        <div className="jp-mllab-planned jp-mllab-services-empty">
          No services in {project}. Press <b>Deploy</b> on a model version or an
          alias: it is served on 127.0.0.1 with MLflow’s and the Open Inference
          protocols, an API page and a Try it form.
        </div>
      ) : null}
      <ul className="jp-mllab-service-list">
        {(rows ?? []).map(s => (
          <ServiceRow
            key={s.name}
            service={s}
            actions={props.actions}
            reload={reload}
          />
        ))}
      </ul>
    </section>
  );
}
