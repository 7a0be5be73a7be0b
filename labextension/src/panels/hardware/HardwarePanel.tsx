import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import React, { useEffect, useRef, useState } from 'react';

import { getHistory, getMonitor, IMonitor, ISample } from '../../api/monitor';
import { LabModel } from '../../model';
import { formatBytes } from '../datasets/format';
import { TimeChart } from './TimeChart';

const WINDOW = 300; // seconds of history in the charts
const COLORS = ['#1976d2', '#e65100', '#2e7d32', '#8e24aa'];

function pct(v: number): string {
  return `${v.toFixed(0)}%`;
}

function rate(v: number): string {
  return `${formatBytes(v)}/s`;
}

function Hardware(props: {
  visible: () => boolean;
  shown: ISignal<HardwarePanel, void>;
  openJob: (id: string) => void;
}): JSX.Element {
  const [points, setPoints] = useState<ISample[]>([]);
  const [monitor, setMonitor] = useState<IMonitor | null>(null);
  const [error, setError] = useState('');
  const last = useRef(0);
  useEffect(() => {
    let active = true;
    let busy = false;
    let timer = 0;
    const tick = async () => {
      window.clearTimeout(timer);
      if (busy) {
        return; // the tick in flight schedules the next
      }
      // charts pause while the panel or the page is hidden
      if (props.visible() && document.visibilityState === 'visible') {
        busy = true;
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
        } finally {
          busy = false;
        }
      }
      if (active) {
        timer = window.setTimeout(tick, 1000);
      }
    };
    // shown again (the panel or the page): fresh figures at once, not up to a second later
    const now = () => void tick();
    props.shown.connect(now);
    document.addEventListener('visibilitychange', now);
    void tick();
    return () => {
      active = false;
      window.clearTimeout(timer);
      props.shown.disconnect(now);
      document.removeEventListener('visibilitychange', now);
    };
  }, []);
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
  const cores = points.length
    ? points[points.length - 1].cpu_per_core.length
    : 0;
  return (
    <div className="jp-mllab-hw-charts" data-points={points.length}>
      <TimeChart
        title="CPU"
        times={times}
        max={100}
        format={pct}
        series={[
          {
            label: 'all',
            color: COLORS[0],
            values: points.map(p => p.cpu_percent)
          },
          ...Array.from({ length: Math.min(cores, 3) }, (_, i) => ({
            label: `core ${i}`,
            color: COLORS[i + 1],
            values: points.map(p => p.cpu_per_core[i] ?? 0)
          }))
        ]}
      />
      <TimeChart
        title="Memory"
        times={times}
        max={
          points.length
            ? points[points.length - 1].memory_total_bytes
            : undefined
        }
        format={formatBytes}
        series={[
          {
            label: 'used',
            color: COLORS[0],
            values: points.map(p => p.memory_used_bytes)
          }
        ]}
      />
      <TimeChart
        title="Network"
        times={times}
        format={rate}
        series={[
          {
            label: 'in',
            color: COLORS[0],
            values: points.map(p => p.net_recv_bps)
          },
          {
            label: 'out',
            color: COLORS[1],
            values: points.map(p => p.net_sent_bps)
          }
        ]}
      />
      <TimeChart
        title="Disk I/O"
        times={times}
        format={rate}
        series={[
          {
            label: 'read',
            color: COLORS[0],
            values: points.map(p => p.disk_read_bps)
          },
          {
            label: 'write',
            color: COLORS[1],
            values: points.map(p => p.disk_write_bps)
          }
        ]}
      />
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
    this._shown.emit();
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

  private _shown = new Signal<this, void>(this);
}
