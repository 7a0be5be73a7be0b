import React from 'react';

import { IServiceStats } from '../../api/services';
import { TimeChart } from '../../charts/TimeChart';
import { formatMs } from './format';
import { perSecond } from './traffic';

function Counter(props: {
  label: string;
  value: string;
  name: string;
  title?: string;
}): JSX.Element {
  return (
    <div
      className="jp-mllab-counter"
      data-counter={props.name}
      title={props.title}
    >
      <div className="jp-mllab-counter-value">{props.value}</div>
      <div className="jp-mllab-counter-label">{props.label}</div>
    </div>
  );
}

/** Request counters and live charts of a service's latency and traffic per second. */
export function ServiceStats(props: {
  stats: IServiceStats | null;
}): JSX.Element {
  const st = props.stats;
  const errors = Object.entries(st?.errors ?? {});
  const errorCount = errors.reduce((n, [, c]) => n + c, 0);
  const lat = st?.latency_ms;
  const series = perSecond(st?.series);
  return (
    <div className="jp-mllab-service-stats">
      <div className="jp-mllab-counters">
        <Counter
          name="requests"
          label="requests"
          value={String(st?.requests ?? 0)}
        />
        <Counter
          name="errors"
          label="errors"
          value={String(errorCount)}
          title={
            errors.length
              ? errors.map(([k, c]) => `${k}: ${c}`).join(', ')
              : 'none'
          }
        />
        <Counter
          name="rows"
          label="rows predicted"
          value={String(st?.rows ?? 0)}
        />
        <Counter name="p50" label="p50" value={formatMs(lat?.p50)} />
        <Counter name="p95" label="p95" value={formatMs(lat?.p95)} />
        <Counter name="p99" label="p99" value={formatMs(lat?.p99)} />
        {st?.batching?.enabled ? (
          <Counter
            name="batch"
            label="rows per batch"
            value={
              st.batching.mean_batch_rows
                ? st.batching.mean_batch_rows.toFixed(1)
                : '—'
            }
            title={`micro-batching: up to ${st.batching.max_rows} rows within ${st.batching.window_ms} ms`}
          />
        ) : null}
      </div>
      {errors.length ? (
        <div className="jp-mllab-muted jp-mllab-service-errors">
          Errors by status: {errors.map(([k, c]) => `${k} × ${c}`).join(', ')}
        </div>
      ) : null}
      {series.x.length > 1 ? (
        <div className="jp-mllab-service-charts">
          <TimeChart
            title="Latency per second"
            unit="ms"
            ariaLabel="Latency per second: p50 and p99 in milliseconds"
            x={series.x}
            xKind="time"
            series={[
              { label: 'p50', values: series.p50 },
              { label: 'p99', values: series.p99 }
            ]}
            height={160}
          />
          <TimeChart
            title="Requests per second"
            ariaLabel="Requests and errors per second"
            x={series.x}
            xKind="time"
            series={[
              { label: 'requests', values: series.requests },
              { label: 'errors', values: series.errors }
            ]}
            height={160}
          />
        </div>
      ) : (
        <div className="jp-mllab-muted jp-mllab-service-charts-empty">
          No traffic in the last 5 minutes: the charts start with the first
          requests.
        </div>
      )}
    </div>
  );
}
