import React, { useEffect, useRef } from 'react';

import { IMetricPoint } from '../../api/jobs';
import { prepareCanvas, themeColor } from '../../canvas';

/** A point with a value: the server sends NaN and infinities as null. */
type Drawn = IMetricPoint & { value: number };

function drawn(points: IMetricPoint[]): Drawn[] {
  return points.filter(
    (p): p is Drawn => typeof p.value === 'number' && isFinite(p.value)
  );
}

/**
 * A small canvas line chart of one metric's points by step (no library needed).
 * Points without a value (null: NaN or an infinity when logged) are left out: the line
 * joins the points on either side, and the caption shows – when the last value is one of those.
 */
export function LineChart(props: {
  name: string;
  points: IMetricPoint[];
}): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    const prepared = prepareCanvas(el, 280, 140);
    if (!el || !prepared) {
      return;
    }
    const { ctx, width, height } = prepared;
    const fg = themeColor(el, '--jp-ui-font-color2', '#666');
    const line = themeColor(el, '--jp-brand-color1', '#1976d2');
    const grid = themeColor(el, '--jp-border-color2', '#ddd');
    const pts = drawn(props.points);
    if (pts.length === 0) {
      return;
    }
    const pad = { l: 44, r: 8, t: 8, b: 20 };
    const xs = pts.map(p => p.step);
    const ys = pts.map(p => p.value);
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) {
      [x0, x1] = [x0 - 1, x1 + 1];
    }
    if (y0 === y1) {
      [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.1, y1 + Math.abs(y1 || 1) * 0.1];
    }
    const X = (x: number) =>
      pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
    const Y = (y: number) =>
      height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
    ctx.font = '10px sans-serif';
    ctx.fillStyle = fg.trim();
    ctx.strokeStyle = grid.trim();
    ctx.lineWidth = 1;
    for (const y of [y0, (y0 + y1) / 2, y1]) {
      ctx.beginPath();
      ctx.moveTo(pad.l, Y(y));
      ctx.lineTo(width - pad.r, Y(y));
      ctx.stroke();
      ctx.fillText(y.toPrecision(3), 2, Y(y) + 3);
    }
    ctx.fillText(String(x0), pad.l, height - 6);
    ctx.fillText(String(x1), width - pad.r - 20, height - 6);
    ctx.strokeStyle = line.trim();
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach((p, i) =>
      i ? ctx.lineTo(X(p.step), Y(p.value)) : ctx.moveTo(X(p.step), Y(p.value))
    );
    ctx.stroke();
    ctx.fillStyle = line.trim();
    for (const p of pts) {
      ctx.beginPath();
      ctx.arc(X(p.step), Y(p.value), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }, [props.points]);
  const last = props.points[props.points.length - 1];
  return (
    <figure className="jp-mllab-chart" data-metric={props.name}>
      <figcaption>
        {props.name}
        {last && (
          <span>
            {' '}
            {typeof last.value === 'number' ? last.value.toPrecision(4) : '–'}
          </span>
        )}
      </figcaption>
      <canvas ref={canvas} />
    </figure>
  );
}
