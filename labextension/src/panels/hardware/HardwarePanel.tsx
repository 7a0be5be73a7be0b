import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import React, { useEffect, useRef, useState } from 'react';

import { getHistory, getMonitor, IMonitor, ISample } from '../../api/monitor';
import { LabModel } from '../../model';
import { formatBytes } from '../datasets/format';
import { TimeChart } from '../../charts/TimeChart';
import { usePoll } from '../../poll';

const WINDOW = 300; // seconds of history in the charts
const COLORS = ['#1976d2', '#e65100', '#2e7d32', '#8e24aa'];
const HEIGHT = 110;

function pct(v: number): string {
  return `${v.toFixed(0)}%`;
}

function rate(v: number): string {
  return `${formatBytes(v)}/s`;
}

function Hardware(props: {
  visible: () => boolean;
  shown: ISignal<HardwarePanel, boolean>;
  openJob: (id: string) => void;
}): JSX.Element {
  const [points, setPoints] = useState<ISample[]>([]);
  const [monitor, setMonitor] = useState<IMonitor | null>(null);
  const [error, setError] = useState('');
  const [active, setActive] = useState(props.visible());
  const last = useRef(0);
  useEffect(() => {
    const follow = (_: HardwarePanel, showing: boolean) => setActive(showing);
    props.shown.connect(follow);
    return () => {
      props.shown.disconnect(follow);
    };
  }, []);
  // the sampler takes a sample a second: the charts ask as often, while they show
  usePoll(
    async () => {
      try {
        const since = last.current || Date.now() / 1000 - WINDOW;
        const [fresh, now] = await Promise.all([
          getHistory(since),
          getMonitor()
        ]);
        if (fresh.length) {
          last.current = fresh[fresh.length - 1].t;
          setPoints(old => {
            const all = old.concat(fresh);
            const cut = last.current - WINDOW;
            return all.filter(p => p.t > cut);
          });
        }
        setMonitor(now);
        setError('');
      } catch (e) {
        setError((e as Error).message);
        throw e; // the poll backs off
      }
    },
    { name: 'jupyter-mllab:hardware', interval: 1000, active }
  );
  const now = monitor?.latest;
  const times = points.map(p => p.t);
  const limits = monitor?.limits;
  return (
    <div className="jp-mllab-hardware">
      {error && <div className="jp-mllab-error">{error}</div>}
      {now && (
        <div className="jp-mllab-hw-now">
          <span>
            CPU <b>{pct(now.cpu_percent)}</b> of {now.cpu_per_core.length}
            {limits?.cpus ? ` (limit ${limits.cpus})` : ''}
          </span>
          <span>
            RAM <b>{formatBytes(now.memory_used_bytes)}</b> of{' '}
            {formatBytes(limits?.memory_bytes ?? now.memory_total_bytes)}
          </span>
          <span>
            Disk <b>{formatBytes(now.disk_used_bytes)}</b> of{' '}
            {formatBytes(now.disk_total_bytes)}
          </span>
          <span>load {now.load.join(' ')}</span>
        </div>
      )}
      <TimeChartList points={points} times={times} />
      {now && now.gpus.length === 0 && (
        <div className="jp-mllab-hw-nogpu">No GPU on this machine.</div>
      )}
      {now?.gpus.map(g => (
        <div key={g.index} className="jp-mllab-hw-gpu" data-gpu={g.index}>
          <b>
            GPU {g.index} {g.name}
          </b>
          <span>{pct(g.utilization_percent ?? 0)}</span>
          <span>
            {formatBytes(g.memory_used_bytes ?? 0)} of{' '}
            {formatBytes(g.memory_total_bytes ?? 0)}
          </span>
          <span>{(g.temperature_c ?? 0).toFixed(0)} °C</span>
          <span>{(g.power_w ?? 0).toFixed(0)} W</span>
        </div>
      ))}
      {monitor && monitor.jobs.length > 0 && (
        <>
          <div className="jp-mllab-section-title">Running jobs</div>
          <ul className="jp-mllab-hw-jobs">
            {monitor.jobs.map(j => (
              <li key={j.id} onClick={() => props.openJob(j.id)}>
                <span className="jp-mllab-dot jp-mllab-status-RUNNING" />
                {j.notebook.split('/').pop()}
                <span className="jp-mllab-job-detail">
                  {j.usage
                    ? `${pct(j.usage.cpu_percent)} CPU · ${formatBytes(j.usage.rss_bytes)}` +
                      (j.usage.gpu_memory_bytes
                        ? ` · ${formatBytes(j.usage.gpu_memory_bytes)} GPU`
                        : '')
                    : 'starting'}
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

function TimeChartList(props: {
  points: ISample[];
  times: number[];
}): JSX.Element {
  const { points, times } = props;
  const latest = points.length ? points[points.length - 1] : null;
  const cores = latest ? latest.cpu_per_core.length : 0;
  const gpus = latest?.gpus ?? [];
  const chart = (
    title: string,
    format: (v: number) => string,
    series: { label: string; values: (number | null)[] }[],
    yRange?: [number | null, number | null]
  ) => (
    <TimeChart
      title={title}
      ariaLabel={`${title} over the last ${WINDOW / 60} minutes`}
      x={times}
      xKind="time"
      height={HEIGHT}
      format={format}
      yRange={yRange}
      series={series.map((s, i) => ({
        ...s,
        color: COLORS[i % COLORS.length]
      }))}
    />
  );
  return (
    <div className="jp-mllab-hw-charts" data-points={points.length}>
      {chart(
        'CPU',
        pct,
        [
          { label: 'all', values: points.map(p => p.cpu_percent) },
          ...Array.from({ length: Math.min(cores, 3) }, (_, i) => ({
            label: `core ${i}`,
            values: points.map(p => p.cpu_per_core[i] ?? null)
          }))
        ],
        [0, 100]
      )}
      {chart(
        'Memory',
        formatBytes,
        [{ label: 'used', values: points.map(p => p.memory_used_bytes) }],
        [0, latest?.memory_total_bytes ?? null]
      )}
      {chart('Network', rate, [
        { label: 'in', values: points.map(p => p.net_recv_bps) },
        { label: 'out', values: points.map(p => p.net_sent_bps) }
      ])}
      {chart('Disk I/O', rate, [
        { label: 'read', values: points.map(p => p.disk_read_bps) },
        { label: 'write', values: points.map(p => p.disk_write_bps) }
      ])}
      {gpus.length > 0 &&
        chart(
          'GPU',
          pct,
          gpus.map((g, i) => ({
            label: `GPU ${g.index}`,
            values: points.map(p => p.gpus?.[i]?.utilization_percent ?? null)
          })),
          [0, 100]
        )}
    </div>
  );
}

/** The sidebar's Hardware panel: live charts, current values, GPUs, running jobs. */
export class HardwarePanel extends ReactWidget {
  constructor(
    readonly model: LabModel,
    private readonly openJob: (id: string) => void
  ) {
    super();
    this.id = 'jp-mllab-hardware';
    this.title.label = 'Hardware';
    this.addClass('jp-mllab-panel');
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._shown.emit(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._shown.emit(false);
  }

  render(): JSX.Element {
    return (
      <Hardware
        visible={() => this.isVisible}
        shown={this._shown}
        openJob={this.openJob}
      />
    );
  }

  private _shown = new Signal<this, boolean>(this);
}
