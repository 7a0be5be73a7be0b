import {
  Clipboard,
  Dialog,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import React, { useState } from 'react';

import {
  deleteModelVersion,
  downloadBundle,
  IModelVersionDetail,
  removeAlias,
  setAlias,
  updateModelVersion
} from '../../api/models';
import { downloadVersionHandoff } from '../../api/services';
import { actionDialog, AliasForm, DescriptionForm } from './dialogs';
import { AliasChips } from './ModelsPanel';

/**
 * The selected version's key, aliases and actions (copy key, download the bundle, set
 * or remove an alias, delete the version), and its facts.
 */
export function VersionHeader(props: {
  detail: IModelVersionDetail;
  registeredName: string;
  /** The versions the alias dialog offers. */
  versions: number[];
  /** The registry changed: reload. */
  onChanged: () => void;
  /** The version is gone. */
  onDeleted: () => void;
  /** Deploy this version as a service. */
  onDeploy: () => void;
}): JSX.Element {
  const d = props.detail;
  const { project, name } = d;
  const [bundling, setBundling] = useState(false);
  const [handingOff, setHandingOff] = useState(false);

  const setAliasDialog = async () => {
    const done = await actionDialog({
      title: `Set an alias of ${project}/${name}`,
      form: new AliasForm(
        props.versions.length ? props.versions : [d.version],
        d.version
      ),
      accept: 'Set alias',
      busy: 'Setting…',
      action: ({ alias, version }) => setAlias(project, name, alias, version)
    });
    if (done) {
      props.onChanged();
    }
  };
  const describe = async () => {
    const done = await actionDialog({
      title: `Describe ${d.key}`,
      form: new DescriptionForm(d.description),
      accept: 'Save',
      busy: 'Saving…',
      action: description =>
        updateModelVersion(project, name, d.version, { description })
    });
    if (done) {
      props.onChanged();
    }
  };
  const dropAlias = async (alias: string) => {
    try {
      await removeAlias(project, name, alias);
    } catch (e) {
      await showErrorMessage(`Cannot remove @${alias}`, e as Error);
    }
    props.onChanged();
  };
  const remove = async () => {
    const ok = await showDialog({
      title: `Delete ${d.key}?`,
      body: 'This version leaves the registry; the run keeps its logged model. This cannot be undone.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!ok.button.accept) {
      return;
    }
    try {
      await deleteModelVersion(project, name, d.version);
      Notification.success(`Deleted ${d.key}`, { autoClose: 3000 });
      props.onDeleted();
    } catch (e) {
      await showErrorMessage(`Cannot delete ${d.key}`, e as Error);
    }
    props.onChanged();
  };
  const bundle = async () => {
    setBundling(true);
    try {
      await downloadBundle(project, name, d.version);
    } catch (e) {
      await showErrorMessage(`Cannot build the bundle of ${d.key}`, e as Error);
    } finally {
      setBundling(false);
    }
  };
  const handoff = async () => {
    setHandingOff(true);
    try {
      await downloadVersionHandoff(project, name, d.version);
    } catch (e) {
      await showErrorMessage(
        `Cannot build the hand-off of ${d.key}`,
        e as Error
      );
    } finally {
      setHandingOff(false);
    }
  };
  // the lab's own tags (mllab.flavor, ...) are shown above as facts
  const tags = Object.entries(d.tags ?? {}).filter(
    ([k]) => !k.startsWith('mllab.')
  );
  const load = `mlflow.pyfunc.load_model("models:/${props.registeredName}/${d.version}")`;
  return (
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
            className="jp-mod-styled jp-mod-accept jp-mllab-deploy-version"
            title={`Serve ${d.key} on 127.0.0.1 (a free port, a name from the model) and open the service's page`}
            onClick={props.onDeploy}
          >
            Deploy
          </button>
          <button
            className="jp-mod-styled jp-mllab-copy-key"
            onClick={() => {
              Clipboard.copyToSystem(d.key);
              Notification.success(`Copied ${d.key}`, { autoClose: 2000 });
            }}
          >
            Copy key
          </button>
          <button
            className="jp-mod-styled jp-mllab-download-bundle"
            disabled={bundling}
            title="One .mlbundle file: the model, its requirements, README, model card and lineage; `python file.mlbundle` serves it"
            onClick={() => void bundle()}
          >
            {bundling ? 'Building bundle…' : 'Download bundle'}
          </button>
          <button
            className="jp-mod-styled jp-mllab-download-handoff"
            disabled={handingOff}
            title="A zip for production: the bundle, its pinned requirements, a Dockerfile (non-root, HEALTHCHECK), KServe and Kubernetes manifests, a README"
            onClick={() => void handoff()}
          >
            {handingOff ? 'Building hand-off…' : 'Hand-off'}
          </button>
          <button
            className="jp-mod-styled jp-mllab-set-alias"
            onClick={() => void setAliasDialog()}
          >
            Set alias…
          </button>
          <button
            className="jp-mod-styled jp-mllab-describe-version"
            onClick={() => void describe()}
          >
            Describe…
          </button>
          <button
            className="jp-mod-styled jp-mod-warn jp-mllab-delete-model-version"
            onClick={() => void remove()}
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
            <dd className="jp-mllab-model-version-description">
              {d.description}
            </dd>
          </>
        ) : null}
        {tags.length ? (
          <>
            <dt>Tags</dt>
            <dd className="jp-mllab-model-tags">
              {tags.map(([k, v]) => (
                <code key={k} className="jp-mllab-param">
                  {k} = {v}
                </code>
              ))}
            </dd>
          </>
        ) : null}
        <dt>In code</dt>
        <dd>
          <code>{load}</code>
        </dd>
      </dl>
    </>
  );
}
