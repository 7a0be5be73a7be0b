import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { ReactWidget, copyIcon } from '@jupyterlab/ui-components';
import React, { useCallback, useState } from 'react';

import {
  downloadHandoff,
  getService,
  IService,
  IServiceStats,
  LIVE,
  proxyUrl,
  serviceMetrics
} from '../../api/services';
import { MLLabApiError } from '../../api/request';
import { modelIcon } from '../../icons';
import { usePoll } from '../../poll';
import { IModelActions } from '../models/VersionDetail';
import { canStop, confirmRemove, IServiceActions, runAction } from './actions';
import {
  dotClass,
  formatUptime,
  servedText,
  serviceWidgetId,
  statusText
} from './format';
import { Redeploy, ServiceLineage } from './Redeploy';
import { ServiceLog } from './ServiceLog';
import { copyText } from './ServicesSection';
import { ServiceStats } from './ServiceStats';
import { TryIt } from './TryIt';

function Section(props: {
  title: string;
  className: string;
  children: React.ReactNode;
  aside?: React.ReactNode;
}): JSX.Element {
  return (
    <section className={`jp-mllab-model-section ${props.className}`}>
      <h3>
        {props.title}
        {props.aside}
      </h3>
      {props.children}
    </section>
  );
}

/** The API page: the service's own Swagger UI, through the lab's proxy. */
function ApiPage(props: { service: IService }): JSX.Element {
  const [shown, setShown] = useState(false);
  const url = proxyUrl(props.service, 'docs/');
  return (
    <>
      <div className="jp-mllab-service-api-actions">
        <button
          className="jp-mod-styled jp-mllab-show-api"
          aria-expanded={shown}
          disabled={!props.service.ready}
          onClick={() => setShown(!shown)}
        >
          {shown ? 'Hide the API page' : 'Show the API page'}
        </button>
        <a
          className="jp-mllab-link jp-mllab-open-api"
          href={url}
          target="_blank"
          rel="noopener noreferrer"
        >
          Open in a new tab
        </a>
        <a
          className="jp-mllab-link jp-mllab-openapi-json"
          href={proxyUrl(props.service, 'openapi.json')}
          target="_blank"
          rel="noopener noreferrer"
        >
          openapi.json
        </a>
      </div>
      {shown ? (
        <iframe
          className="jp-mllab-service-api-frame"
          title={`API page of ${props.service.name}`}
          src={url}
        />
      ) : null}
    </>
  );
}

function Facts(props: { service: IService }): JSX.Element {
  const s = props.service;
  const [tokenShown, setTokenShown] = useState(false);
  const b = s.options.batching;
  return (
    <dl className="jp-mllab-fields jp-mllab-service-facts">
      <dt>Serving</dt>
      <dd className="jp-mllab-service-serving">
        {servedText(s)}
        {s.source.alias ? (
          <span className="jp-mllab-muted">
            {' '}
            · follows @{s.source.alias}: redeploys when it moves
          </span>
        ) : null}
      </dd>
      <dt>URL</dt>
      <dd>
        <code className="jp-mllab-service-url-text">{s.url}</code>{' '}
        <button
          className="jp-mllab-icon-button jp-mllab-copy-url"
          aria-label="Copy the URL"
          title="Copy URL"
          onClick={() => copyText(s.url, s.url)}
        >
          <copyIcon.react tag="span" />
        </button>
        <span className="jp-mllab-muted"> · 127.0.0.1 only</span>
      </dd>
      <dt>Token</dt>
      <dd>
        <code className="jp-mllab-service-token">
          {tokenShown ? s.token : '•'.repeat(12)}
        </code>{' '}
        <button
          className="jp-mllab-text-button jp-mllab-show-token"
          aria-label={tokenShown ? 'Hide the token' : 'Show the token'}
          aria-pressed={tokenShown}
          onClick={() => setTokenShown(!tokenShown)}
        >
          {tokenShown ? 'Hide' : 'Show'}
        </button>
        <button
          className="jp-mllab-icon-button jp-mllab-copy-token"
          aria-label="Copy the token"
          title="Copy token"
          onClick={() => copyText(s.token, 'the token')}
        >
          <copyIcon.react tag="span" />
        </button>
        <span className="jp-mllab-muted">
          {' '}
          · direct calls send <code>Authorization: Bearer …</code>; the lab’s
          proxy needs none
        </span>
      </dd>
      <dt>Uptime</dt>
      <dd>
        {formatUptime(s.uptime_s)}
        {s.restarts
          ? ` · ${s.restarts} restart${s.restarts === 1 ? '' : 's'}`
          : ''}
        {s.pid ? <span className="jp-mllab-muted"> · pid {s.pid}</span> : null}
      </dd>
      <dt>Options</dt>
      <dd>
        {s.options.workers} worker{s.options.workers === 1 ? '' : 's'} ·{' '}
        {b.enabled
          ? `micro-batching up to ${b.max_rows} rows within ${b.window_ms} ms`
          : 'no batching'}
      </dd>
    </dl>
  );
}

function Page(props: {
  name: string;
  actions: IServiceActions;
  modelActions: IModelActions;
  onGone: () => void;
}): JSX.Element {
  const [svc, setSvc] = useState<IService | null>(null);
  const [stats, setStats] = useState<IServiceStats | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [handingOff, setHandingOff] = useState(false);

  const load = useCallback(async () => {
    try {
      const [s, st] = await Promise.all([
        getService(props.name),
        serviceMetrics(props.name).catch(() => null)
      ]);
      setSvc(s);
      setStats(st);
      setError('');
    } catch (e) {
      if (e instanceof MLLabApiError && e.status === 404) {
        props.onGone(); // removed (from the panel, a kernel, another tab)
        return;
      }
      setError((e as Error).message);
      throw e;
    }
  }, [props.name]);
  const live = !!svc && LIVE.includes(svc.status);
  const settling = !!svc && live && !(svc.status === 'running' && svc.ready);
  const { refresh } = usePoll(load, {
    name: `jupyter-mllab:service:${props.name}`,
    interval: settling ? 1000 : live ? 2000 : 10_000,
    deps: [props.name]
  });
  const reload = () => void refresh().catch(() => undefined);

  if (!svc) {
    return (
      <div className="jp-mllab-service-page">
        {error ? <div className="jp-mllab-error">{error}</div> : 'Loading…'}
      </div>
    );
  }
  const act = async (what: 'stop' | 'start' | 'restart' | 'remove') => {
    setBusy(true);
    try {
      if (what === 'remove') {
        if (await confirmRemove(svc)) {
          props.actions.changed();
          props.onGone();
        }
        return;
      }
      const next = await runAction(svc, what);
      if (next) {
        setSvc(next);
      }
      props.actions.changed();
    } finally {
      setBusy(false);
      reload();
    }
  };
  return (
    <div
      className="jp-mllab-service-page"
      data-name={svc.name}
      data-status={svc.status}
      data-ready={svc.ready}
    >
      <header className="jp-mllab-service-header">
        <h2>
          <span className={dotClass(svc)} />
          {svc.name}{' '}
          <span className="jp-mllab-service-status">{statusText(svc)}</span>
        </h2>
        <div className="jp-mllab-dataset-view-actions">
          {canStop(svc) ? (
            <>
              <button
                className="jp-mod-styled jp-mllab-service-restart"
                disabled={busy}
                onClick={() => void act('restart')}
              >
                Restart
              </button>
              <button
                className="jp-mod-styled jp-mllab-service-stop"
                disabled={busy}
                onClick={() => void act('stop')}
              >
                Stop
              </button>
            </>
          ) : (
            <button
              className="jp-mod-styled jp-mod-accept jp-mllab-service-start"
              disabled={busy || svc.status === 'stopping'}
              onClick={() => void act('start')}
            >
              Start
            </button>
          )}
          <button
            className="jp-mod-styled jp-mllab-service-handoff"
            disabled={handingOff}
            title="A zip for production: the bundle, its pinned requirements, a Dockerfile, KServe and Kubernetes manifests, a README"
            onClick={() => {
              setHandingOff(true);
              downloadHandoff(svc.name)
                .catch(e =>
                  showErrorMessage(
                    `Cannot build the hand-off of ${svc.name}`,
                    e as Error
                  )
                )
                .finally(() => setHandingOff(false));
            }}
          >
            {handingOff ? 'Building hand-off…' : 'Download hand-off'}
          </button>
          <button
            className="jp-mod-styled jp-mod-warn jp-mllab-service-remove"
            disabled={busy}
            onClick={() => void act('remove')}
          >
            Remove…
          </button>
        </div>
      </header>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {svc.error ? (
        <div className="jp-mllab-error jp-mllab-service-error">
          {svc.error}
          {svc.log_tail?.length ? (
            <pre className="jp-mllab-service-log-tail">
              {svc.log_tail.join('\n')}
            </pre>
          ) : null}
        </div>
      ) : null}
      <Facts service={svc} />
      <div className="jp-mllab-service-layout">
        <div className="jp-mllab-service-column">
          <Section title="Try it" className="jp-mllab-service-tryit">
            <TryIt service={svc} onPredicted={reload} />
          </Section>
        </div>
        <div className="jp-mllab-service-column">
          <Section title="Traffic" className="jp-mllab-service-traffic">
            <ServiceStats stats={stats} />
          </Section>
          <Section title="Model" className="jp-mllab-service-model-section">
            <Redeploy service={svc} onRedeployed={s => (setSvc(s), reload())} />
            <ServiceLineage
              service={svc}
              actions={props.modelActions}
              openModel={props.actions.openModel}
            />
          </Section>
        </div>
      </div>
      <Section title="API" className="jp-mllab-service-api">
        <ApiPage service={svc} />
      </Section>
      <Section title="Log" className="jp-mllab-service-log-section">
        <ServiceLog name={svc.name} live={live} />
      </Section>
    </div>
  );
}

/** A service's page in the main area. */
export function createServiceView(
  name: string,
  actions: IServiceActions,
  modelActions: IModelActions
): MainAreaWidget {
  let widget: MainAreaWidget | null = null;
  const content = ReactWidget.create(
    <Page
      name={name}
      actions={actions}
      modelActions={modelActions}
      onGone={() => widget?.dispose()}
    />
  );
  content.addClass('jp-mllab-model-view-content');
  content.addClass('jp-mllab-service-view');
  widget = new MainAreaWidget({ content });
  widget.id = serviceWidgetId(name);
  widget.title.label = `Service ${name}`;
  widget.title.caption = `Model service ${name}`;
  widget.title.icon = modelIcon;
  widget.title.closable = true;
  return widget;
}
