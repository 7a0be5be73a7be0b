import {
  InputDialog,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import React, { useEffect, useRef, useState } from 'react';

import { IPreview } from '../../api/datasets';
import {
  IJob,
  IJobOutputs,
  IOutputFile,
  jobOutputs,
  outputPreview,
  outputUrl,
  promoteOutput,
  TERMINAL
} from '../../api/jobs';
import { usePoll } from '../../poll';
import { formatBytes } from '../datasets/format';
import { PreviewBody } from '../datasets/Preview';

/** A dataset name from a file name: its stem, with what a name cannot hold as '-'. */
function datasetName(path: string): string {
  const base = path.split('/').pop() ?? path;
  const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
  const clean = stem
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return clean || 'output';
}

async function promote(job: IJob, file: IOutputFile): Promise<void> {
  const answer = await InputDialog.getText({
    title: `Promote ${file.path} to a dataset`,
    label: `Dataset name (a new version in project ${job.project})`,
    text: datasetName(file.path)
  });
  if (!answer.button.accept || !answer.value) {
    return;
  }
  try {
    const version = await promoteOutput(job.id, file.path, {
      dataset: answer.value
    });
    Notification.success(`Promoted ${file.path} to ${version.key}`, {
      autoClose: 5000
    });
  } catch (e) {
    await showErrorMessage(`Cannot promote ${file.path}`, e as Error);
  }
}

function FilePreview(props: { job: IJob; path: string }): JSX.Element {
  const [preview, setPreview] = useState<IPreview | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    setPreview(null);
    setError('');
    outputPreview(props.job.id, props.path)
      .then(p => live && setPreview(p))
      .catch(e => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [props.job.id, props.path]);
  return (
    <div
      className="jp-mllab-preview jp-mllab-output-preview"
      data-path={props.path}
    >
      <div className="jp-mllab-preview-title">
        <span>{props.path}</span>
      </div>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {preview ? (
        <PreviewBody preview={preview} />
      ) : error ? null : (
        <div>Loading…</div>
      )}
    </div>
  );
}

/** The run page's Outputs section: the files the run saved (click one for a preview),
 * those it skipped (greyed, with why), a download link and "Promote to dataset" each. */
export function JobOutputs(props: { job: IJob }): JSX.Element | null {
  const { job } = props;
  const ended = TERMINAL.includes(job.status);
  const [outputs, setOutputs] = useState<IJobOutputs | null>(null);
  const [error, setError] = useState('');
  const [selected, setSelected] = useState<string | null>(null);

  // The runner logs the outputs as the run ends: an empty list just after may be early,
  // so an empty list of an isolated run is asked again, up to three times.
  const attempts = useRef(0);
  const [waiting, setWaiting] = useState(true);
  usePoll(
    async () => {
      attempts.current += 1;
      try {
        const o = await jobOutputs(job.id);
        setOutputs(o);
        if (o.files.length || o.mode !== 'isolated' || attempts.current >= 3) {
          setWaiting(false);
        }
      } catch (e) {
        setError((e as Error).message);
        setWaiting(false);
      }
    },
    {
      name: `jupyter-mllab:outputs-${job.id}`,
      interval: 2000,
      active: ended && job.kind === 'run' && waiting,
      deps: [job.id]
    }
  );

  if (job.kind !== 'run') {
    return null;
  }
  let body: JSX.Element;
  if (!ended) {
    body = (
      <div className="jp-mllab-muted">
        The files this run writes are saved when it ends.
      </div>
    );
  } else if (error) {
    body = <div className="jp-mllab-error">{error}</div>;
  } else if (!outputs) {
    body = <div>Loading…</div>;
  } else if (!outputs.files.length) {
    body = (
      <div className="jp-mllab-muted">
        {outputs.mode === 'in_place'
          ? 'This run ran in place (in its notebook’s folder): its files were not collected.'
          : 'This run saved no files.'}
      </div>
    );
  } else {
    body = (
      <table className="jp-mllab-outputs-table">
        <tbody>
          {outputs.files.map(f => (
            <tr
              key={f.path}
              className={
                (f.saved ? '' : 'jp-mllab-output-skipped ') +
                (selected === f.path ? 'jp-mod-selected' : '')
              }
              data-path={f.path}
              title={f.saved ? f.path : `Not saved: ${f.reason ?? ''}`}
            >
              <td>
                {f.saved ? (
                  <a
                    className="jp-mllab-output-name"
                    onClick={() => setSelected(f.path)}
                  >
                    {f.path}
                  </a>
                ) : (
                  <span className="jp-mllab-output-name">{f.path}</span>
                )}
              </td>
              <td className="jp-mllab-output-size">{formatBytes(f.size)}</td>
              <td>
                {f.saved ? (
                  <>
                    <a
                      className="jp-mllab-link-button"
                      href={outputUrl(job.id, f.path)}
                      download={f.path.split('/').pop()}
                    >
                      Download
                    </a>{' '}
                    <button
                      className="jp-mllab-link-button"
                      onClick={() => void promote(job, f)}
                    >
                      Promote to dataset
                    </button>
                  </>
                ) : (
                  <span className="jp-mllab-muted">skipped: {f.reason}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <section className="jp-mllab-outputs">
      <h3>Outputs</h3>
      {outputs?.warnings.map(w => (
        <div key={w} className="jp-mllab-warning">
          {w}
        </div>
      ))}
      {body}
      {selected ? <FilePreview job={job} path={selected} /> : null}
    </section>
  );
}
