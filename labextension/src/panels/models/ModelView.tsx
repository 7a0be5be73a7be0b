import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import {
  getModel,
  getModelVersion,
  IModelVersion,
  IModelVersionDetail,
  IRegisteredModel,
  listModelVersions
} from '../../api/models';
import { modelIcon } from '../../icons';
import { formatEpoch, modelWidgetId } from './format';
import { onEnterOrSpace } from '../keyboard';
import { AliasChips } from './ModelsPanel';
import { IModelActions, VersionDetail } from './VersionDetail';
import { VersionHeader } from './VersionHeader';

const PAGE = 20;

function VersionsList(props: {
  versions: IModelVersion[];
  selected: number | null;
  onSelect: (v: number) => void;
}): JSX.Element {
  return (
    <ul className="jp-mllab-versions jp-mllab-model-versions">
      {props.versions.map(v => (
        <li
          key={v.version}
          className={`jp-mllab-version${v.version === props.selected ? ' jp-mod-selected' : ''}`}
          data-version={v.version}
          tabIndex={0}
          aria-label={`Version ${v.version}`}
          aria-current={v.version === props.selected ? 'true' : undefined}
          onClick={() => props.onSelect(v.version)}
          onKeyDown={e => onEnterOrSpace(e, () => props.onSelect(v.version))}
        >
          <span className="jp-mllab-version-number">v{v.version}</span>
          <AliasChips aliases={v.aliases.map(alias => ({ alias }))} />
          <span className="jp-mllab-muted">
            {[v.flavor, v.format, formatEpoch(v.created)]
              .filter(Boolean)
              .join(' · ')}
          </span>
        </li>
      ))}
    </ul>
  );
}

function Page(props: {
  project: string;
  name: string;
  want: number | null;
  /** Changes when `want` is asked for again (the same version, picked anew). */
  picked: number;
  /** Changes when the model is to be loaded afresh. */
  nonce: number;
  actions: IModelActions;
}): JSX.Element {
  const { project, name } = props;
  const [model, setModel] = useState<IRegisteredModel | null>(null);
  const [versions, setVersions] = useState<IModelVersion[]>([]);
  const [total, setTotal] = useState(0);
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<number | null>(props.want);
  const [detail, setDetail] = useState<IModelVersionDetail | null>(null);
  const [reload, setReload] = useState(0);
  const [error, setError] = useState('');

  useEffect(() => {
    if (props.want !== null) {
      setSelected(props.want);
    }
  }, [props.want, props.picked]);

  useEffect(() => {
    let active = true;
    void (async () => {
      try {
        const [m, page] = await Promise.all([
          getModel(project, name),
          listModelVersions(project, name, offset, PAGE)
        ]);
        if (!active) {
          return;
        }
        setModel(m);
        setVersions(page.versions);
        setTotal(page.total);
        setSelected(s => s ?? m.latest_version);
        setError('');
      } catch (e) {
        if (active) {
          setError((e as Error).message);
        }
      }
    })();
    return () => {
      active = false;
    };
  }, [project, name, offset, reload, props.nonce]);

  useEffect(() => {
    if (selected === null) {
      setDetail(null);
      return;
    }
    let active = true;
    getModelVersion(project, name, selected)
      .then(d => active && setDetail(d))
      .catch(e => active && setError((e as Error).message));
    return () => {
      active = false;
    };
  }, [project, name, selected, reload]);

  const changed = useCallback(() => {
    setReload(r => r + 1);
    props.actions.changed();
  }, [props.actions]);

  if (!model) {
    return (
      <div className="jp-mllab-model-page">
        {error ? <div className="jp-mllab-error">{error}</div> : 'Loading…'}
      </div>
    );
  }
  const d = detail && detail.version === selected ? detail : null;
  return (
    <div className="jp-mllab-model-page" data-key={model.key}>
      <header className="jp-mllab-dataset-view-header">
        <h2>{model.key}</h2>
        <AliasChips
          aliases={Object.entries(model.aliases).map(([alias, version]) => ({
            alias,
            version
          }))}
        />
      </header>
      {model.description ? (
        <p className="jp-mllab-model-description">{model.description}</p>
      ) : null}
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      <div className="jp-mllab-model-layout">
        <aside className="jp-mllab-model-aside">
          <h3>
            Versions <span className="jp-mllab-muted">({total})</span>
          </h3>
          {versions.length ? null : (
            <div className="jp-mllab-muted">No versions left.</div>
          )}
          <VersionsList
            versions={versions}
            selected={selected}
            onSelect={setSelected}
          />
          {total > PAGE ? (
            <div className="jp-mllab-pager">
              <button
                className="jp-mod-styled"
                disabled={offset === 0}
                onClick={() => setOffset(Math.max(0, offset - PAGE))}
              >
                Newer
              </button>
              <span className="jp-mllab-muted">
                {offset + 1}–{Math.min(total, offset + PAGE)} of {total}
              </span>
              <button
                className="jp-mod-styled"
                disabled={offset + PAGE >= total}
                onClick={() => setOffset(offset + PAGE)}
              >
                Older
              </button>
            </div>
          ) : null}
        </aside>
        <main className="jp-mllab-model-main">
          {d ? (
            <>
              <VersionHeader
                detail={d}
                registeredName={model.registered_name}
                versions={versions.map(v => v.version)}
                onChanged={changed}
                onDeleted={() => {
                  setSelected(null);
                  setDetail(null);
                }}
                onDeploy={() =>
                  props.actions.deploy(project, `${name}@${d.version}`)
                }
              />
              <VersionDetail detail={d} actions={props.actions} />
            </>
          ) : selected !== null ? (
            <div className="jp-mllab-muted">Loading v{selected}…</div>
          ) : null}
        </main>
      </div>
    </div>
  );
}

/** A registered model's page in the main area; `showVersion` picks a version. */
export class ModelPage extends ReactWidget {
  constructor(
    readonly project: string,
    readonly modelName: string,
    version: number | null,
    private readonly actions: IModelActions
  ) {
    super();
    this.addClass('jp-mllab-model-view-content');
    this.version = version;
  }

  /** Show a version (null: keep the choice) and load the model afresh. */
  showVersion(version: number | null): void {
    if (version !== null) {
      this.version = version;
      this.picked++;
    }
    this.nonce++;
    this.update();
  }

  render(): JSX.Element {
    return (
      <Page
        project={this.project}
        name={this.modelName}
        want={this.version}
        picked={this.picked}
        nonce={this.nonce}
        actions={this.actions}
      />
    );
  }

  private version: number | null;
  private picked = 0;
  private nonce = 0;
}

export function createModelView(
  project: string,
  name: string,
  version: number | null,
  actions: IModelActions
): MainAreaWidget<ModelPage> {
  const content = new ModelPage(project, name, version, actions);
  const widget = new MainAreaWidget({ content });
  widget.id = modelWidgetId(project, name);
  widget.title.label = `${project}/${name}`;
  widget.title.caption = `Model ${project}/${name}`;
  widget.title.icon = modelIcon;
  widget.title.closable = true;
  return widget;
}
