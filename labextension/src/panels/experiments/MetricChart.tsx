import React, { useMemo } from 'react';

import { IMetricPoint } from '../../api/jobs';
import { lossLike, TimeChart } from '../../charts/TimeChart';
import { fmt } from '../../charts/scales';
import { useSettings } from '../../settings';

/**
 * One metric's curve on a run's page (uPlot): by step, or by time when every point has the
 * same step. Points without a value (null: NaN or an infinity when logged) are gaps; the
 * caption shows – when the last value is one of those. Loss-like metrics start on a log
 * scale; the smoothing slider starts at the chartSmoothing setting.
 */
export function MetricChart(props: {
  name: string;
  points: IMetricPoint[];
}): JSX.Element {
  const { points, name } = props;
  const smoothing = useSettings().chartSmoothing;
  const byTime =
    points.length > 1 && points[0].step === points[points.length - 1].step;
  const x = useMemo(
    () => points.map(p => (byTime ? p.timestamp / 1000 : p.step)),
    [points, byTime]
  );
  const series = useMemo(
    () => [
      {
        label: name,
        values: points.map(p => (typeof p.value === 'number' ? p.value : null))
      }
    ],
    [points, name]
  );
  const last = points[points.length - 1];
  const positive = points.every(
    p => p.value === null || (p.value as number) > 0
  );
  return (
    <div className="jp-mllab-chart" data-metric={name}>
      <TimeChart
        title={name}
        ariaLabel={`${name} by ${byTime ? 'time' : 'step'}`}
        x={x}
        xKind={byTime ? 'time' : 'step'}
        series={series}
        log={lossLike(name) && positive}
        smoothing={smoothing}
        height={160}
        caption={
          last && (
            <span className="jp-mllab-chart-last" title="the latest value">
              {typeof last.value === 'number' ? fmt(last.value) : '–'}
            </span>
          )
        }
      />
    </div>
  );
}
