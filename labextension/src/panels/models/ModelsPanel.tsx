import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import { IRegisteredModel, listModels } from '../../api/models';
import { LabModel } from '../../model';
import { onEnterOrSpace } from '../keyboard';
import { IServiceActions } from '../services/actions';
import { ServicesSection } from '../services/ServicesSection';
import { formatEpoch } from './format';

export type OpenModel = (
  project: string,
  name: string,
  version?: number
) => void;

/** What the panel's Services section and Deploy buttons ask of the lab. */
export interface IPanelServiceActions extends IServiceActions {
  deploy: (project: string, model: string) => void;
}

/** The aliases of a model or a version, as chips: `champion → v3`. */
export function AliasChips(props: {
  aliases: { alias: string; version?: number }[];
  onRemove?: (alias: string) => void;
  /** A Deploy button on each chip: serve the version the alias names, following it. */
  onDeploy?: (alias: string) => void;
}): JSX.Element | null {
  if (!props.aliases.length) {
    return null;
  }
  return (
    <span className="jp-mllab-aliases">
      {props.aliases.map(a => (
        <span
          key={a.alias}
          className="jp-mllab-alias"
          data-alias={a.alias}
          title={
            a.version === undefined
              ? `alias ${a.alias}`
              : `alias ${a.alias} names v${a.version}`
          }
        >
          @{a.alias}
          {a.version === undefined ? '' : ` → v${a.version}`}
          {props.onRemove ? (
            <button
              className="jp-mllab-alias-remove"
              aria-label={`Remove alias ${a.alias}`}
              title={`Remove alias ${a.alias}`}
              onClick={e => {
                e.stopPropagation();
                props.onRemove!(a.alias);
              }}
            >
              ×
            </button>
          ) : null}
          {props.onDeploy ? (
            <button
              className="jp-mllab-alias-deploy"
              aria-label={`Deploy @${a.alias}`}
              title={`Deploy @${a.alias}: a service that follows the alias when it moves`}
              onClick={e => {
                e.stopPropagation();
                props.onDeploy!(a.alias);
              }}
            >
              Deploy
            </button>
          ) : null}
        </span>
      ))}
    </span>
  );
}

function ModelRow(props: {
  model: IRegisteredModel;
  onOpen: () => void;
  onDeploy: (alias: string) => void;
}): JSX.Element {
  const m = props.model;
  const aliases = Object.entries(m.aliases)
    .sort(([, a], [, b]) => b - a)
    .map(([alias, version]) => ({ alias, version }));
  return (
    <li
      className="jp-mllab-model-row"
      data-name={m.name}
      title={m.description || m.key}
      tabIndex={0}
      aria-label={`Model ${m.name}, ${m.latest_version === null ? 'no versions' : `latest v${m.latest_version}`}`}
      onClick={props.onOpen}
      onKeyDown={e => onEnterOrSpace(e, props.onOpen)}
    >
      <span className="jp-mllab-model-name">{m.name}</span>
      <span className="jp-mllab-dataset-latest">
        {m.latest_version === null ? 'no versions' : `v${m.latest_version}`}
      </span>
      <span className="jp-mllab-muted jp-mllab-model-meta">
        {m.versions_count} version{m.versions_count === 1 ? '' : 's'} · updated{' '}
        {formatEpoch(m.updated)}
        {m.description ? ` · ${m.description}` : ''}
      </span>
      <AliasChips aliases={aliases} onDeploy={props.onDeploy} />
    </li>
  );
}

function Models(props: {
  model: LabModel;
  open: OpenModel;
  services: IPanelServiceActions;
}): JSX.Element {
  const project = props.model.current;
  const [rows, setRows] = useState<IRegisteredModel[] | null>(null);
  const [query, setQuery] = useState('');
  const [error, setError] = useState('');
  const asked = useRef(0);

  const refresh = useCallback(async () => {
    const ask = ++asked.current; // an answer to an older search comes too late
    try {
      const list = await listModels(project, query);
      if (ask === asked.current) {
        setRows(list);
        setError('');
      }
    } catch (e) {
      if (ask === asked.current) {
        setError((e as Error).message);
      }
    }
  }, [project, query]);

  useEffect(() => {
    // the search waits for a pause in typing; the lab's poll refreshes the list
    const timer = window.setTimeout(() => void refresh(), query ? 250 : 0);
    const onChange = () => {
      if (props.model.current === project) {
        void refresh();
      }
    };
    props.model.changed.connect(onChange);
    return () => {
      window.clearTimeout(timer);
      props.model.changed.disconnect(onChange);
    };
  }, [refresh]);

  return (
    <div className="jp-mllab-models">
      <div className="jp-mllab-toolbar">
        <input
          className="jp-mod-styled jp-mllab-search"
          placeholder="Search models"
          aria-label="Search models"
          value={query}
          onChange={e => setQuery(e.target.value)}
        />
      </div>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {rows === null && !error ? (
        <div className="jp-mllab-planned">Loading…</div>
      ) : null}
      {rows !== null && rows.length === 0 ? (
        <div className="jp-mllab-planned jp-mllab-models-empty">
          {query ? (
            `No model of ${project} matches “${query}”.`
          ) : (
            <>
              No models in {project} yet. Train a model in a notebook, then
              press <b>Export model</b> in the notebook’s or a cell’s toolbar,
              or run <code>mllab.log_model(model, "name")</code> in a cell: each
              export is a new version here, with its run, notebook and datasets.
            </>
          )}
        </div>
      ) : null}
      <ul className="jp-mllab-model-list">
        {(rows ?? []).map(m => (
          <ModelRow
            key={m.name}
            model={m}
            onOpen={() => props.open(project, m.name)}
            onDeploy={alias =>
              props.services.deploy(project, `${m.name}@${alias}`)
            }
          />
        ))}
      </ul>
      <ServicesSection
        model={props.model}
        project={project}
        actions={props.services}
      />
    </div>
  );
}

/** The Models panel: the current project's registered models, their versions and aliases. */
export class ModelsPanel extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly open: OpenModel,
    private readonly services: IPanelServiceActions
  ) {
    super();
    this.id = 'jp-mllab-models';
    this.title.label = 'Models & Services';
    this.addClass('jp-mllab-panel');
    // a fresh list when the current project changes, however it changed
    model.changed.connect(() => {
      if (this.rendered !== model.current) {
        this.update();
      }
    });
  }

  private rendered = '';

  render(): JSX.Element {
    this.rendered = this.model.current;
    return (
      <Models
        key={this.model.current}
        model={this.model}
        open={this.open}
        services={this.services}
      />
    );
  }
}
