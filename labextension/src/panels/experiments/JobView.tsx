import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';

import {
  cancelJob,
  getJob,
  IJob,
  jobLog,
  retryJob,
  TERMINAL
} from '../../api/jobs';
import { usePoll } from '../../poll';
import { formatBytes } from '../datasets/format';
import { RunModels } from '../models/RunModels';
import { ProgressBar } from './ExperimentsPanel';
import { notebookName, seconds } from './format';
import { MetricChart } from './MetricChart';
import { JobOutputs } from './Outputs';
import { TensorBoardButton } from './TensorBoard';
import { useMetricHistories } from './useMetrics';

export interface IJobActions {
  openOutput: (job: IJob) => void;
  openJob: (id: string) => void;
  rerun: (job: IJob) => void;
  openTensorBoard: (runId: string) => Promise<void>;
  openModel: (project: string, name: string, version: number) => void;
}

function Page(props: { id: string; actions: IJobActions }): JSX.Element {
  const [job, setJob] = useState<IJob | null>(null);
  const [log, setLog] = useState('');
  const [error, setError] = useState('');
  const [live, setLive] = useState(true);
  const offset = useRef(0);
  const logEnd = useRef<HTMLPreElement>(null);
  const charts = useRef<HTMLElement>(null);
  const metrics = useMetricHistories(props.id);

  // a second apart while the run goes on (the log and curves are incremental), then done
  usePoll(
    async () => {
      try {
        const j = await getJob(props.id);
        const chunk = await jobLog(props.id, offset.current);
        if (chunk.text) {
          offset.current = chunk.offset;
          setLog(old => old + chunk.text);
        }
        // a chart's width: the page's, less the others beside it (grid of >= 280 px)
        const width = charts.current?.clientWidth ?? window.innerWidth;
        await metrics.fetch(Math.min(width, 720));
        setJob(j);
        setError('');
        if (TERMINAL.includes(j.status) && chunk.done) {
          setLive(false); // nothing more will come
        }
      } catch (e) {
        setError((e as Error).message);
        throw e; // the poll backs off
      }
    },
    { name: `jupyter-mllab:job-${props.id}`, interval: 1000, active: live }
  );

  useEffect(() => {
    logEnd.current?.scrollTo({ top: logEnd.current.scrollHeight });
  }, [log]);

  if (!job) {
    return <div className="jp-mllab-job-page">{error || 'Loading…'}</div>;
  }
  const act = async (what: 'cancel' | 'retry') => {
    try {
      if (what === 'cancel') {
        setJob(await cancelJob(job.id));
      } else {
        props.actions.openJob((await retryJob(job.id)).id);
      }
    } catch (e) {
      void showErrorMessage(`Cannot ${what} ${job.id}`, e as Error);
    }
  };
  const p = job.progress;
  const usage = job.usage;
  const summary = job.summary;
  const systemMetric = (name: string) => name.startsWith('system/');
  return (
    <div className="jp-mllab-job-page">
      <header>
        <h2>
          <span className={`jp-mllab-dot jp-mllab-status-${job.status}`} />
          {notebookName(job.notebook)}{' '}
          <span className="jp-mllab-job-status">{job.status}</span>
        </h2>
        <div className="jp-mllab-job-actions">
          {job.has_output && (
            <button
              className="jp-mod-styled jp-mod-accept"
              onClick={() => props.actions.openOutput(job)}
            >
              Open output notebook
            </button>
          )}
          <TensorBoardButton
            runId={job.mlflow_run_id}
            finished={TERMINAL.includes(job.status)}
            open={props.actions.openTensorBoard}
          />
          {!TERMINAL.includes(job.status) && (
            <button
              className="jp-mod-styled jp-mod-warn"
              onClick={() => void act('cancel')}
            >
              Cancel
            </button>
          )}
          {TERMINAL.includes(job.status) && (
            <>
              <button
                className="jp-mod-styled"
                onClick={() => void act('retry')}
              >
                Retry
              </button>
              <button
                className="jp-mod-styled"
                onClick={() => props.actions.rerun(job)}
              >
                Re-run with edited parameters…
              </button>
            </>
          )}
        </div>
      </header>
      {job.error && (
        <div className="jp-mllab-error">
          {job.error.message} ({job.error.reason})
        </div>
      )}
      <ProgressBar job={job} />
      <dl className="jp-mllab-job-facts">
        <dt>Cells</dt>
        <dd>
          {p ? `${p.cells_done} of ${p.cells_total ?? '?'}` : '—'}
          {p?.current_source && job.status === 'RUNNING' && (
            <code className="jp-mllab-current-cell">
              {p.current_source.split('\n')[0]}
            </code>
          )}
        </dd>
        <dt>Elapsed</dt>
        <dd>
          {seconds(p?.elapsed ?? job.duration) || '—'}
          {p?.eta !== null && p?.eta !== undefined && job.status === 'RUNNING'
            ? ` · about ${seconds(p.eta)} left`
            : ''}
        </dd>
        <dt>Parameters</dt>
        <dd>
          {Object.keys(job.parameters ?? {}).length
            ? Object.entries(job.parameters ?? {}).map(([k, v]) => (
                <code key={k} className="jp-mllab-param">
                  {k} = {JSON.stringify(v)}
                </code>
              ))
            : 'the notebook’s defaults'}
        </dd>
        <dt>Resources</dt>
        <dd>
          {usage
            ? `${usage.cpu_percent.toFixed(0)}% CPU · ${formatBytes(usage.rss_bytes)} RAM` +
              (usage.gpu_memory_bytes
                ? ` · ${formatBytes(usage.gpu_memory_bytes)} GPU`
                : '')
            : summary && summary.peak_rss_bytes !== null
              ? `peak ${formatBytes(summary.peak_rss_bytes)} RAM · mean ${summary.mean_cpu_percent ?? 0}% CPU` +
                (summary.peak_gpu_memory_bytes
                  ? ` · peak ${formatBytes(summary.peak_gpu_memory_bytes)} GPU`
                  : '')
              : '—'}
        </dd>
        <dt>MLflow run</dt>
        <dd>
          <code>{job.mlflow_run_id ?? '—'}</code>
        </dd>
        {job.parent_id && (
          <>
            <dt>Sweep</dt>
            <dd>
              <a onClick={() => props.actions.openJob(job.parent_id!)}>
                {job.parent_id}
              </a>
            </dd>
          </>
        )}
      </dl>
      <section className="jp-mllab-charts" ref={charts}>
        {Object.entries(metrics.histories)
          .filter(([name]) => !systemMetric(name) || name === 'system/rss_mb')
          .filter(([, points]) => points.length > 1)
          .map(([name, points]) => (
            <MetricChart key={name} name={name} points={points} />
          ))}
      </section>
      <JobOutputs job={job} />
      {job.mlflow_run_id && TERMINAL.includes(job.status) && (
        <RunModels
          runId={job.mlflow_run_id}
          project={job.project}
          openModel={props.actions.openModel}
        />
      )}
      <h3>Log</h3>
      <pre className="jp-mllab-log" ref={logEnd}>
        {log || (job.status === 'QUEUED' ? 'Waiting in the queue…' : '')}
      </pre>
    </div>
  );
}

/** A run's page in the main area. */
export function createJobView(
  id: string,
  actions: IJobActions
): MainAreaWidget {
  const content = ReactWidget.create(<Page id={id} actions={actions} />);
  content.addClass('jp-mllab-job-view');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-mllab-job-${id}`;
  widget.title.label = `Run ${id}`;
  widget.title.closable = true;
  return widget;
}
