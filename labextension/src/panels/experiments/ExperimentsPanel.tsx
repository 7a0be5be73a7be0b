import { showErrorMessage } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useState } from 'react';

import {
  cancelJob,
  getJob,
  IJob,
  jobsChanged,
  listJobs,
  retryJob,
  TERMINAL
} from '../../api/jobs';
import { LabModel } from '../../model';
import { usePoll } from '../../poll';
import { fraction, notebookName, params, seconds } from './format';

export type OpenJob = (id: string) => void;

export function ProgressBar(props: { job: IJob }): JSX.Element {
  const pct = Math.round(fraction(props.job) * 100);
  return (
    <div
      className={`jp-mllab-progress jp-mllab-status-${props.job.status}`}
      role="progressbar"
      aria-label={
        props.job.kind === 'sweep' ? 'Sweep progress' : 'Run progress'
      }
      aria-valuenow={pct}
      aria-valuemin={0}
      aria-valuemax={100}
    >
      <div style={{ width: `${pct}%` }} />
    </div>
  );
}

function JobRow(props: {
  job: IJob;
  child?: boolean;
  open: OpenJob;
  refresh: () => void;
  expanded?: Set<string>;
  toggle?: (id: string) => void;
}): JSX.Element {
  const { job } = props;
  const expanded = props.expanded?.has(job.id) ?? false;
  const setExpanded = (_: boolean) => props.toggle?.(job.id);
  const [children, setChildren] = useState<IJob[]>([]);
  useEffect(() => {
    if (expanded && job.kind === 'sweep') {
      void getJob(job.id).then(j => setChildren(j.children ?? []));
    }
  }, [expanded, job]);
  const act = async (what: 'cancel' | 'retry') => {
    try {
      if (what === 'cancel') {
        await cancelJob(job.id);
      } else {
        await retryJob(job.id);
      }
      props.refresh();
    } catch (e) {
      void showErrorMessage(`Cannot ${what} ${job.id}`, e as Error);
    }
  };
  const p = job.progress;
  const detail =
    job.kind === 'sweep' && job.counts
      ? `${job.counts.COMPLETED}/${Object.values(job.counts).reduce((a, b) => a + b, 0)} done` +
        (job.counts.FAILED ? `, ${job.counts.FAILED} failed` : '') +
        (job.counts.RUNNING ? `, ${job.counts.RUNNING} running` : '')
      : job.status === 'QUEUED'
        ? `queued${job.queue_position ? ` #${job.queue_position}` : ''}`
        : p && job.status === 'RUNNING'
          ? `cell ${p.cells_done}/${p.cells_total ?? '?'}` +
            (p.eta !== null ? `, ${seconds(p.eta)} left` : '')
          : seconds(job.duration);
  return (
    <li className={`jp-mllab-job ${props.child ? 'jp-mllab-job-child' : ''}`}>
      <div
        className="jp-mllab-job-row"
        data-job={job.id}
        data-status={job.status}
        onClick={() =>
          job.kind === 'sweep' ? setExpanded(!expanded) : props.open(job.id)
        }
        title={job.error?.message ?? `${job.notebook} — ${job.status}`}
      >
        <span className={`jp-mllab-dot jp-mllab-status-${job.status}`} />
        <span className="jp-mllab-job-name">
          {job.kind === 'sweep' ? (expanded ? '▾ ' : '▸ ') : ''}
          {props.child ? params(job) || job.id : notebookName(job.notebook)}
        </span>
        <span className="jp-mllab-job-detail">{detail}</span>
        {!TERMINAL.includes(job.status) ? (
          <button
            className="jp-mllab-link-button"
            title="Cancel"
            onClick={e => {
              e.stopPropagation();
              void act('cancel');
            }}
          >
            Cancel
          </button>
        ) : (
          <button
            className="jp-mllab-link-button"
            title="Run again with the same inputs"
            onClick={e => {
              e.stopPropagation();
              void act('retry');
            }}
          >
            Retry
          </button>
        )}
      </div>
      {!props.child && (
        <div className="jp-mllab-job-sub">
          {job.kind === 'sweep'
            ? `${job.search?.kind ?? 'grid'} sweep · ${job.id}`
            : params(job) || 'default parameters'}
        </div>
      )}
      {!(props.child && TERMINAL.includes(job.status)) && (
        <ProgressBar job={job} />
      )}
      {expanded && (
        <ul className="jp-mllab-job-children">
          {children.map(c => (
            <JobRow
              key={c.id}
              job={c}
              child
              open={props.open}
              refresh={props.refresh}
            />
          ))}
        </ul>
      )}
    </li>
  );
}

function Jobs(props: {
  model: LabModel;
  open: OpenJob;
  visible: () => boolean;
}): JSX.Element {
  const project = props.model.current;
  const [jobs, setJobs] = useState<IJob[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState('');
  // which sweeps are open, kept here: a sweep moves from the queue to the recent runs
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const toggle = (id: string) =>
    setExpanded(old => {
      const next = new Set(old);
      if (!next.delete(id)) {
        next.add(id);
      }
      return next;
    });
  const refresh = useCallback(async () => {
    try {
      const page = await listJobs({ project, top: 'true', limit: '30' });
      setJobs(page.jobs);
      setTotal(page.total);
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [project]);
  // live while visible: quick while something runs, at the refresh setting otherwise
  const busy = jobs.some(j => !TERMINAL.includes(j.status));
  const poll = usePoll(refresh, {
    name: 'jupyter-mllab:experiments',
    interval: busy ? 1500 : undefined,
    visible: props.visible,
    deps: [refresh]
  });
  useEffect(() => {
    const now = () => void poll.refresh();
    jobsChanged.connect(now);
    return () => {
      jobsChanged.disconnect(now);
    };
  }, []);
  const running = jobs.filter(j => !TERMINAL.includes(j.status));
  const done = jobs.filter(j => TERMINAL.includes(j.status));
  return (
    <div className="jp-mllab-experiments">
      {error && <div className="jp-mllab-error">{error}</div>}
      {jobs.length === 0 && !error && (
        <div className="jp-mllab-empty">
          No runs in {project} yet. Open a notebook and press{' '}
          <b>Run as experiment</b> in its toolbar.
        </div>
      )}
      {[
        { label: 'Queue', aria: 'queue', list: running },
        {
          label:
            'Recent' +
            (total > jobs.length ? ` (${jobs.length} of ${total})` : ''),
          aria: 'recent runs',
          list: done
        }
      ]
        .filter(section => section.list.length > 0)
        .map(section => (
          <React.Fragment key={section.aria}>
            <div className="jp-mllab-section-title">{section.label}</div>
            <ul className="jp-mllab-jobs" aria-label={section.aria}>
              {section.list.map(j => (
                <JobRow
                  key={j.id}
                  job={j}
                  open={props.open}
                  refresh={refresh}
                  expanded={expanded}
                  toggle={toggle}
                />
              ))}
            </ul>
          </React.Fragment>
        ))}
    </div>
  );
}

/** The sidebar's Experiments panel: the queue and recent runs of the current project. */
export class ExperimentsPanel extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly open: OpenJob,
    private readonly openRuns: () => void = () => undefined
  ) {
    super();
    this.id = 'jp-mllab-experiments';
    this.title.label = 'Experiments';
    this.addClass('jp-mllab-panel');
    model.changed.connect(() => this.update());
  }

  render(): JSX.Element {
    return (
      <>
        <div className="jp-mllab-panel-actions">
          <button
            className="jp-mllab-button"
            onClick={this.openRuns}
            title="Every run of this project: filter, sort, compare, export"
          >
            Runs table
          </button>
        </div>
        <Jobs
          key={this.model.current}
          model={this.model}
          open={this.open}
          visible={() => this.isVisible}
        />
      </>
    );
  }
}
