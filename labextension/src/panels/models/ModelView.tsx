import {
  Clipboard,
  Dialog,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import {
  deleteModelVersion,
  downloadBundle,
  getModel,
  getModelVersion,
  IModelVersion,
  IModelVersionDetail,
  IRegisteredModel,
  listModelVersions,
  removeAlias,
  setAlias
} from '../../api/models';
import { modelIcon } from '../../icons';
import { actionDialog, AliasForm } from './dialogs';
import { formatEpoch, modelWidgetId } from './format';
import { AliasChips } from './ModelsPanel';
import { IModelActions, VersionDetail } from './VersionDetail';

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
          onClick={() => props.onSelect(v.version)}
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
  const [bundling, setBundling] = useState(false);
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

  const setAliasDialog = async () => {
    const known = versions.map(v => v.version);
    const done = await actionDialog({
      title: `Set an alias of ${project}/${name}`,
      form: new AliasForm(known.length ? known : [selected!], selected!),
      accept: 'Set alias',
      busy: 'Setting…',
      action: ({ alias, version }) => setAlias(project, name, alias, version)
    });
    if (done) {
      changed();
    }
  };
  const dropAlias = async (alias: string) => {
    try {
      await removeAlias(project, name, alias);
    } catch (e) {
      await showErrorMessage(`Cannot remove @${alias}`, e as Error);
    }
    changed();
  };
  const remove = async (v: number) => {
    const ok = await showDialog({
      title: `Delete ${project}/${name}@${v}?`,
      body: 'This version leaves the registry; the run keeps its logged model. This cannot be undone.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!ok.button.accept) {
      return;
    }
    try {
      await deleteModelVersion(project, name, v);
      setSelected(null);
      setDetail(null);
      Notification.success(`Deleted ${project}/${name}@${v}`, {
        autoClose: 3000
      });
    } catch (e) {
      await showErrorMessage(
        `Cannot delete ${project}/${name}@${v}`,
        e as Error
      );
    }
    changed();
  };
  const bundle = async (v: number) => {
    setBundling(true);
    try {
      await downloadBundle(project, name, v);
    } catch (e) {
      await showErrorMessage(`Cannot build the bundle of v${v}`, e as Error);
    } finally {
      setBundling(false);
    }
  };

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
              <div className="jp-mllab-model-version-header">
                <h3>
                  {d.key}{' '}
                  <AliasChips
                    aliases={d.aliases.map(alias => ({ alias }))}
                    onRemove={alias => void dropAlias(alias)}
                  />
                </h3>
                <div className="jp-mllab-dataset-view-actions">
                  <button
                    className="jp-mod-styled jp-mllab-copy-key"
                    onClick={() => {
                      Clipboard.copyToSystem(d.key);
                      Notification.success(`Copied ${d.key}`, {
                        autoClose: 2000
                      });
                    }}
                  >
                    Copy key
                  </button>
                  <button
                    className="jp-mod-styled jp-mllab-download-bundle"
                    disabled={bundling}
                    title="One .mlbundle file: the model, its requirements, README, model card and lineage; `python file.mlbundle` serves it"
                    onClick={() => void bundle(d.version)}
                  >
                    {bundling ? 'Building bundle…' : 'Download bundle'}
                  </button>
                  <button
                    className="jp-mod-styled jp-mllab-set-alias"
                    onClick={() => void setAliasDialog()}
                  >
                    Set alias…
                  </button>
                  <button
                    className="jp-mod-styled jp-mod-warn jp-mllab-delete-model-version"
                    onClick={() => void remove(d.version)}
                  >
                    Delete version
                  </button>
                </div>
              </div>
              <dl className="jp-mllab-fields">
                <dt>Flavor</dt>
                <dd>{d.flavor ?? '—'}</dd>
                <dt>Format</dt>
                <dd>{d.format ?? '—'}</dd>
                <dt>Created</dt>
                <dd>
                  {new Date(d.created * 1000).toLocaleString()}
                  {d.created_by ? ` by ${d.created_by}` : ''}
                </dd>
                {d.description ? (
                  <>
                    <dt>Description</dt>
                    <dd>{d.description}</dd>
                  </>
                ) : null}
                <dt>In code</dt>
                <dd>
                  <code>
                    mlflow.pyfunc.load_model("models:/{model.registered_name}/
                    {d.version}")
                  </code>
                </dd>
              </dl>
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
