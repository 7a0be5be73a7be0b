import React, { useEffect, useRef } from 'react';

import { prepareCanvas, themeColor } from '../../canvas';

/** One colour per compared run (the legend, curves, lines and points share them). */
export const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf'
];

export function color(i: number): string {
  return COLORS[i % COLORS.length];
}

function extent(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!isFinite(lo) || !isFinite(hi)) {
    return [0, 1];
  }
  if (lo === hi) {
    const pad = Math.abs(lo || 1) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  return [lo, hi];
}

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) {
    return '–';
  }
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(2)
    : String(Number(v.toPrecision(4)));
}

/** Several runs' curves of one metric, overlaid, by step (canvas). */
export function OverlaidCurves(props: {
  metric: string;
  series: { label: string; color: string; points: [number, number | null][] }[];
}): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    const prepared = prepareCanvas(el, 360, 180);
    if (!el || !prepared) {
      return;
    }
    const { ctx, width, height } = prepared;
    const fg = themeColor(el, '--jp-ui-font-color2', '#666');
    const grid = themeColor(el, '--jp-border-color2', '#ddd');
    const all = props.series.flatMap(s =>
      s.points.filter(p => p[1] !== null)
    ) as [number, number][];
    if (all.length === 0) {
      return;
    }
    const pad = { l: 48, r: 10, t: 8, b: 20 };
    const [x0, x1] = extent(all.map(p => p[0]));
    const [y0, y1] = extent(all.map(p => p[1]));
    const X = (x: number) =>
      pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
    const Y = (y: number) =>
      height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
    ctx.font = '10px sans-serif';
    ctx.fillStyle = fg;
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    for (const y of [y0, (y0 + y1) / 2, y1]) {
      ctx.beginPath();
      ctx.moveTo(pad.l, Y(y));
      ctx.lineTo(width - pad.r, Y(y));
      ctx.stroke();
      ctx.fillText(fmt(y), 2, Y(y) + 3);
    }
    ctx.fillText(`step ${fmt(x0)}`, pad.l, height - 6);
    ctx.fillText(fmt(x1), width - pad.r - 24, height - 6);
    for (const s of props.series) {
      const pts = s.points.filter(p => p[1] !== null) as [number, number][];
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      pts.forEach(([x, y], i) =>
        i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))
      );
      ctx.stroke();
      if (pts.length < 40) {
        for (const [x, y] of pts) {
          ctx.beginPath();
          ctx.arc(X(x), Y(y), 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
  }, [props.series]);
  return (
    <figure
      className="jp-mllab-chart jp-mllab-curves"
      data-metric={props.metric}
    >
      <figcaption>{props.metric}</figcaption>
      <canvas ref={canvas} />
    </figure>
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
    if (numeric) {
      const nums = raw.filter(v => v !== null && v !== undefined).map(Number);
      const [lo, hi] = extent(nums.length ? nums : [0]);
      return {
        ticks: [fmt(lo), fmt(hi)],
        y: (v: unknown) =>
          v === null || v === undefined
            ? null
            : height -
              pad.b -
              ((Number(v) - lo) / (hi - lo)) * (height - pad.t - pad.b)
      };
    }
    const cats = [...new Set(raw.map(v => String(v)))].sort();
    return {
      ticks: [cats[0], cats[cats.length - 1]],
      y: (v: unknown) =>
        height -
        pad.b -
        ((cats.indexOf(String(v)) + 0.5) / cats.length) *
          (height - pad.t - pad.b)
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
  const X = (v: number) =>
    pad.l + ((v - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const Y = (v: number) =>
    height - pad.b - ((v - y0) / (y1 - y0)) * (height - pad.t - pad.b);
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
      <text x={pad.l} y={height - 16} className="tick">
        {fmt(x0)}
      </text>
      <text x={width - pad.r} y={height - 16} textAnchor="end" className="tick">
        {fmt(x1)}
      </text>
      <text
        x={(width + pad.l) / 2}
        y={height - 3}
        textAnchor="middle"
        className="label"
      >
        {props.xName}
      </text>
      <text x={4} y={Y(y0)} className="tick">
        {fmt(y0)}
      </text>
      <text x={4} y={Y(y1) + 8} className="tick">
        {fmt(y1)}
      </text>
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
