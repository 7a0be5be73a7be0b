import React, { useMemo } from 'react';

import { alignCurves, lossLike, TimeChart } from '../../charts/TimeChart';
import {
  bandScale,
  color,
  COLORS,
  extent,
  fmt,
  linearScale,
  ticks
} from '../../charts/scales';
import { useSettings } from '../../settings';

// the colours and number format the compare view's table shares with its charts
export { color, COLORS, fmt };

/** Several runs' curves of one metric, overlaid, by step (uPlot). */
export function OverlaidCurves(props: {
  metric: string;
  series: { label: string; color: string; points: [number, number | null][] }[];
}): JSX.Element {
  const smoothing = useSettings().chartSmoothing;
  const aligned = useMemo(() => alignCurves(props.series), [props.series]);
  const positive = props.series.every(s =>
    s.points.every(([, v]) => v === null || v > 0)
  );
  return (
    <div className="jp-mllab-chart jp-mllab-curves" data-metric={props.metric}>
      <TimeChart
        title={props.metric}
        ariaLabel={`${props.metric} of each compared run, by step`}
        x={aligned.x}
        xKind="step"
        series={aligned.series}
        log={lossLike(props.metric) && positive}
        smoothing={smoothing}
        height={200}
      />
    </div>
  );
}

export interface IAxisRun {
  label: string;
  color: string;
  values: Record<string, number | string | null>;
  best?: boolean;
}

/** Parameters (and the chosen metric, last) as parallel axes; a line per run (SVG). */
export function ParallelCoordinates(props: {
  axes: string[];
  runs: IAxisRun[];
}): JSX.Element {
  const width = 640;
  const height = 220;
  const pad = { l: 40, r: 40, t: 28, b: 24 };
  const { axes, runs } = props;
  if (axes.length < 2) {
    return (
      <div className="jp-mllab-empty">
        Needs two or more parameters or metrics.
      </div>
    );
  }
  const x = (i: number) =>
    pad.l + (i * (width - pad.l - pad.r)) / (axes.length - 1);
  const scales = axes.map(axis => {
    const raw = runs.map(r => r.values[axis]);
    const numeric = raw.every(
      v => v === null || v === undefined || !isNaN(Number(v))
    );
    const range: [number, number] = [height - pad.b, pad.t];
    if (numeric) {
      const nums = raw.filter(v => v !== null && v !== undefined).map(Number);
      const domain = extent(nums.length ? nums : [0]);
      const y = linearScale(domain, range);
      return {
        ticks: [fmt(domain[0]), fmt(domain[1])],
        y: (v: unknown) => (v === null || v === undefined ? null : y(Number(v)))
      };
    }
    const cats = [...new Set(raw.map(v => String(v)))].sort();
    const y = bandScale(cats, range);
    return {
      ticks: [cats[0], cats[cats.length - 1]],
      y: (v: unknown) => y(String(v))
    };
  });
  return (
    <svg
      className="jp-mllab-parallel"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="parallel coordinates"
    >
      {axes.map((axis, i) => (
        <g key={axis}>
          <line
            x1={x(i)}
            x2={x(i)}
            y1={pad.t}
            y2={height - pad.b}
            className="axis"
          />
          <text x={x(i)} y={14} textAnchor="middle" className="label">
            {axis}
          </text>
          <text x={x(i) + 3} y={height - pad.b + 14} className="tick">
            {scales[i].ticks[0]}
          </text>
          <text x={x(i) + 3} y={pad.t + 4} className="tick">
            {scales[i].ticks[1]}
          </text>
        </g>
      ))}
      {runs.map(run => {
        const pts = axes
          .map((axis, i) => [x(i), scales[i].y(run.values[axis])] as const)
          .filter(p => p[1] !== null);
        return (
          <polyline
            key={run.label}
            points={pts.map(p => `${p[0]},${p[1]}`).join(' ')}
            stroke={run.color}
            strokeWidth={run.best ? 3.5 : 2}
            fill="none"
            opacity={0.85}
          >
            <title>{run.label}</title>
          </polyline>
        );
      })}
    </svg>
  );
}

/** One parameter against one metric, a point per run (SVG). */
export function Scatter(props: {
  xName: string;
  yName: string;
  runs: IAxisRun[];
}): JSX.Element {
  const width = 360;
  const height = 220;
  const pad = { l: 48, r: 12, t: 12, b: 32 };
  const pts = props.runs
    .map(r => ({
      run: r,
      x: Number(r.values[props.xName]),
      y: Number(r.values[props.yName])
    }))
    .filter(
      p => isFinite(p.x) && isFinite(p.y) && p.run.values[props.yName] !== null
    );
  if (pts.length === 0) {
    return (
      <div className="jp-mllab-empty">No numeric values of {props.xName}.</div>
    );
  }
  const [x0, x1] = extent(pts.map(p => p.x));
  const [y0, y1] = extent(pts.map(p => p.y));
  const X = linearScale([x0, x1], [pad.l, width - pad.r]);
  const Y = linearScale([y0, y1], [height - pad.b, pad.t]);
  const xTicks = ticks([x0, x1], 4);
  const yTicks = ticks([y0, y1], 4);
  return (
    <svg
      className="jp-mllab-scatter"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="scatter"
    >
      <line
        x1={pad.l}
        x2={width - pad.r}
        y1={height - pad.b}
        y2={height - pad.b}
        className="axis"
      />
      <line
        x1={pad.l}
        x2={pad.l}
        y1={pad.t}
        y2={height - pad.b}
        className="axis"
      />
      {xTicks.map(t => (
        <text
          key={`x${t}`}
          x={X(t)}
          y={height - 16}
          textAnchor="middle"
          className="tick"
        >
          {fmt(t)}
        </text>
      ))}
      <text
        x={(width + pad.l) / 2}
        y={height - 3}
        textAnchor="middle"
        className="label"
      >
        {props.xName}
      </text>
      {yTicks.map(t => (
        <text key={`y${t}`} x={4} y={Y(t) + 3} className="tick">
          {fmt(t)}
        </text>
      ))}
      {pts.map(p => (
        <circle
          key={p.run.label}
          cx={X(p.x)}
          cy={Y(p.y)}
          r={p.run.best ? 7 : 5}
          fill={p.run.color}
          stroke={p.run.best ? 'var(--jp-ui-font-color0)' : 'none'}
        >
          <title>{`${p.run.label}: ${props.xName}=${fmt(p.x)}, ${props.yName}=${fmt(p.y)}`}</title>
        </circle>
      ))}
    </svg>
  );
}
