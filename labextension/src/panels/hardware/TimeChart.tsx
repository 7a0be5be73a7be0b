import React, { useEffect, useRef } from 'react';

import { prepareCanvas, themeColor } from '../../canvas';

export interface ISeries {
  label: string;
  color: string;
  values: number[];
}

/** A canvas chart of series over the same times: redrawn, not re-laid out, per sample. */
export function TimeChart(props: {
  title: string;
  times: number[];
  series: ISeries[];
  max?: number;
  format: (v: number) => string;
}): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    const prepared = prepareCanvas(el, 240, 70);
    if (!el || !prepared) {
      return;
    }
    const { ctx, width, height } = prepared;
    const { times } = props;
    if (times.length < 2) {
      return;
    }
    const all = props.series.flatMap(s => s.values);
    const top = props.max ?? Math.max(1, ...all) * 1.1;
    const t0 = times[0];
    const span = Math.max(times[times.length - 1] - t0, 1);
    const X = (t: number) => ((t - t0) / span) * width;
    const Y = (v: number) => height - 2 - (v / top) * (height - 4);
    ctx.strokeStyle = themeColor(el, '--jp-border-color2', '#ddd');
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, Y(top / 2));
    ctx.lineTo(width, Y(top / 2));
    ctx.stroke();
    for (const s of props.series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      s.values.forEach((v, i) =>
        i ? ctx.lineTo(X(times[i]), Y(v)) : ctx.moveTo(X(times[i]), Y(v))
      );
      ctx.stroke();
    }
  }, [props.times, props.series, props.max]);
  return (
    <figure className="jp-mllab-hw-chart" data-chart={props.title}>
      <figcaption>
        <span className="jp-mllab-hw-chart-title">{props.title}</span>
        {props.series.map(s => (
          <span key={s.label} className="jp-mllab-hw-legend">
            <i style={{ background: s.color }} />
            {s.label}{' '}
            {s.values.length
              ? props.format(s.values[s.values.length - 1])
              : '—'}
          </span>
        ))}
      </figcaption>
      <canvas ref={canvas} />
    </figure>
  );
}
