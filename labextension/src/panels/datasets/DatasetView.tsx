import { Clipboard, MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';

import { downloadUrl, IDatasetVersion } from '../../api/datasets';
import { mllabIcon } from '../../icons';
import { formatBytes } from './format';
import { Preview } from './Preview';
import { IUsedByActions, UsedBy } from './UsedBy';

function Field(props: {
  label: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

function View(props: {
  version: IDatasetVersion;
  usedBy?: IUsedByActions;
}): JSX.Element {
  const v = props.version;
  const copy = (text: string, what: string) => {
    Clipboard.copyToSystem(text);
    Notification.success(`Copied ${what}`, { autoClose: 2000 });
  };
  return (
    <div className="jp-mllab-dataset-view" data-key={v.key}>
      <div className="jp-mllab-dataset-view-header">
        <h2>{v.key}</h2>
        <div className="jp-mllab-dataset-view-actions">
          <button
            className="jp-mod-styled jp-mod-accept"
            onClick={() => copy(v.key, v.key)}
          >
            Copy key
          </button>
          <a
            className="jp-mod-styled jp-mllab-button-link"
            href={downloadUrl(v.project, v.name, v.version)}
            download
          >
            Download
          </a>
        </div>
      </div>
      <dl className="jp-mllab-fields">
        <Field label="Kind">
          {v.kind === 'folder'
            ? `folder of ${v.file_count} files`
            : `${v.filename} (${v.media_type})`}
        </Field>
        <Field label="Size">{formatBytes(v.size)}</Field>
        <Field label="sha256">
          <code
            className="jp-mllab-sha"
            title="Copy"
            onClick={() => copy(v.sha256, 'the sha256')}
          >
            {v.sha256}
          </code>
        </Field>
        <Field label="Created">
          {new Date(v.created).toLocaleString()}{' '}
          {v.author ? `by ${v.author}` : ''}
        </Field>
        {v.source ? <Field label="Source">{v.source}</Field> : null}
        {v.derived_from?.length ? (
          <Field label="Lineage">
            Derived from {v.derived_from.join(', ')}
            {v.source_run_id ? ` by run ${v.source_run_id}` : ''}
          </Field>
        ) : null}
        {v.description ? (
          <Field label="Description">{v.description}</Field>
        ) : null}
        {v.tags.length ? <Field label="Tags">{v.tags.join(', ')}</Field> : null}
        <Field label="In code">
          <code>mllab.load_dataset("{v.key}")</code>
        </Field>
      </dl>
      <Preview version={v} />
      {props.usedBy ? (
        <UsedBy
          project={v.project}
          name={v.name}
          version={v.version}
          actions={props.usedBy}
        />
      ) : null}
    </div>
  );
}

/** A version of a dataset in the main area: what it is, and its preview. */
export function createDatasetView(
  version: IDatasetVersion,
  usedBy?: IUsedByActions
): MainAreaWidget {
  const content = ReactWidget.create(
    <View version={version} usedBy={usedBy} />
  );
  content.addClass('jp-mllab-dataset-view-content');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-mllab-dataset-${version.key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  widget.title.label = version.key;
  widget.title.icon = mllabIcon;
  widget.title.closable = true;
  return widget;
}
