import React, { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';

import { chartTheme, useThemeVersion } from './theme';
import { color as paletteColor, fmt, smooth } from './scales';

// pure helpers callers use with a TimeChart (in scales.ts, unit-tested without a browser)
export { alignCurves, lossLike } from './scales';

export interface ITimeSeries {
  label: string;
  /** One value per x; null (or NaN, an infinity) is a gap in the line. */
  values: (number | null)[];
  color?: string;
}

export interface ITimeChartProps {
  title?: string;
  /** Shown after the title and in the y axis' values' tooltips, e.g. "%" or "B/s". */
  unit?: string;
  ariaLabel: string;
  /** Ascending: unix seconds ("time") or steps ("step"). */
  x: number[];
  xKind: 'time' | 'step';
  series: ITimeSeries[];
  /** Given: a log-scale toggle, on at first when true (for loss-like metrics). */
  log?: boolean;
  /** Given: a smoothing slider (TensorBoard's debiased EMA weight, 0 to 0.99) at this value. */
  smoothing?: number;
  height?: number;
  /** How values show in the legend and the y axis (default: a few significant digits). */
  format?: (v: number) => string;
  /** Fixed y bounds (null: from the data), e.g. [0, 100] for percentages. */
  yRange?: [number | null, number | null];
  /** More to show in the caption, after the title (e.g. the latest value). */
  caption?: React.ReactNode;
}

function finite(v: number | null): number | null {
  return v !== null && isFinite(v) ? v : null;
}

/** uPlot's data columns: x, then each series (smoothed ones after their faded raw values). */
function columns(
  props: ITimeChartProps,
  log: boolean,
  weight: number
): uPlot.AlignedData {
  const out: (number | null)[][] = [];
  for (const s of props.series) {
    let values = s.values.map(finite);
    if (log) {
      values = values.map(v => (v !== null && v > 0 ? v : null));
    }
    if (weight > 0) {
      out.push(values, smooth(values, weight));
    } else {
      out.push(values);
    }
  }
  return [props.x, ...out] as uPlot.AlignedData;
}

function fade(c: string): string {
  return /^#[0-9a-f]{6}$/i.test(c) ? `${c}55` : c;
}

/**
 * A time series chart drawn with uPlot: hover shows every series' value at the cursor (in
 * the legend), drag to zoom, double-click to reset, click a legend entry to hide or show its
 * series, gaps where values are missing, an optional log scale and smoothing slider. It
 * follows the JupyterLab theme (its CSS variables) and redraws when the theme changes.
 */
export function TimeChart(props: ITimeChartProps): JSX.Element {
  const box = useRef<HTMLDivElement>(null);
  const figure = useRef<HTMLElement>(null);
  const plot = useRef<uPlot | null>(null);
  const hidden = useRef(new Set<string>());
  const zoomed = useRef(false);
  const [log, setLog] = useState(props.log ?? false);
  const [weight, setWeight] = useState(props.smoothing ?? 0);
  useEffect(() => setLog(props.log ?? false), [props.log]);
  useEffect(() => setWeight(props.smoothing ?? 0), [props.smoothing]);
  const theme = useThemeVersion();
  const format = props.format ?? fmt;
  const height = props.height ?? 180;

  const data = useMemo(
    () => columns(props, log, weight),
    [props.x, props.series, log, weight]
  );
  const dataRef = useRef(data);
  dataRef.current = data;

  // what needs a new plot (anything but the values): series, scales, theme, size
  const layout = JSON.stringify({
    s: props.series.map((s, i) => [s.label, s.color ?? paletteColor(i)]),
    log,
    smoothed: weight > 0,
    xKind: props.xKind,
    theme,
    height,
    y: props.yRange ?? null
  });

  useEffect(() => {
    const el = box.current;
    if (!el) {
      return;
    }
    const t = chartTheme(el);
    const lastValue = (sidx: number) => {
      const col = dataRef.current[sidx] as (number | null)[];
      for (let i = col.length - 1; i >= 0; i--) {
        if (col[i] !== null && col[i] !== undefined) {
          return col[i] as number;
        }
      }
      return null;
    };
    // the legend shows the values at the cursor, and the latest ones when not hovering
    const legendValue = (
      _u: uPlot,
      v: number | null,
      sidx: number,
      idx: number | null
    ) => {
      const value = idx === null ? lastValue(sidx) : v;
      return value === null || value === undefined ? '–' : format(value);
    };
    const series: uPlot.Series[] = [
      {
        label: props.xKind === 'time' ? 'time' : 'step',
        // at the cursor, or the latest when not hovering (as the series' values)
        value: (_u, v, _s, idx) => {
          const x = idx === null ? lastValue(0) : v;
          if (x === null || x === undefined) {
            return '–';
          }
          return props.xKind === 'time'
            ? new Date(x * 1000).toLocaleTimeString()
            : String(x);
        }
      }
    ];
    props.series.forEach((s, i) => {
      const c = s.color ?? paletteColor(i);
      if (weight > 0) {
        series.push({
          label: `${s.label} (raw)`,
          stroke: fade(c),
          width: 1,
          value: legendValue,
          show: !hidden.current.has(s.label)
        });
      }
      series.push({
        label: s.label,
        stroke: c,
        width: 1.5,
        value: legendValue,
        points: {
          show: (u: uPlot) => u.data[0].length < 60
        } as uPlot.Series.Points,
        show: !hidden.current.has(s.label)
      });
    });
    const axis = (size: number, values?: uPlot.Axis['values']): uPlot.Axis => ({
      stroke: t.muted,
      font: t.font,
      size,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1 },
      ...(values ? { values } : {})
    });
    const [ylo, yhi] = props.yRange ?? [null, null];
    const opts: uPlot.Options = {
      width: el.clientWidth || 300,
      height,
      series,
      scales: {
        x: { time: props.xKind === 'time' },
        y: log
          ? { distr: 3 }
          : {
              range: (_u, lo, hi) => {
                const [a, b] = uPlot.rangeNum(lo, hi, 0.1, true);
                return [ylo ?? a, yhi ?? b];
              }
            }
      },
      axes: [
        axis(28),
        axis(52, (_u, splits) => splits.map(v => (v === null ? '' : format(v))))
      ],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      hooks: {
        setSeries: [
          (u, sidx) => {
            if (sidx === null) {
              return;
            }
            const label = String(u.series[sidx].label).replace(/ \(raw\)$/, '');
            if (u.series[sidx].show) {
              hidden.current.delete(label);
            } else {
              hidden.current.add(label);
            }
          }
        ],
        // what the browser tests read: when it last drew, the x range shown
        draw: [
          () => {
            if (figure.current) {
              figure.current.dataset.drawnAt = String(performance.now());
            }
          }
        ],
        setScale: [
          (u, key) => {
            if (key === 'x') {
              if (figure.current) {
                figure.current.dataset.xMin = String(u.scales.x.min);
                figure.current.dataset.xMax = String(u.scales.x.max);
              }
              const xs = u.data[0];
              zoomed.current =
                xs.length > 1 &&
                ((u.scales.x.min ?? xs[0]) > xs[0] ||
                  (u.scales.x.max ?? xs[xs.length - 1]) < xs[xs.length - 1]);
            }
          }
        ]
      }
    };
    if (figure.current) {
      figure.current.dataset.textColor = t.text;
    }
    const u = new uPlot(opts, dataRef.current, el);
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const width = el.clientWidth;
      if (width > 0 && width !== u.width) {
        u.setSize({ width, height });
      }
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current = null;
      u.destroy();
    };
  }, [layout]);

  // new values: the same plot, keeping a zoom the user made
  useEffect(() => {
    plot.current?.setData(data, !zoomed.current);
  }, [data]);

  const title = props.title
    ? `${props.title}${props.unit ? ` (${props.unit})` : ''}`
    : '';
  return (
    <figure
      ref={figure}
      className="jp-mllab-timechart"
      data-chart={props.title ?? props.ariaLabel}
      data-points={props.x.length}
      data-log={log}
      aria-label={props.ariaLabel}
    >
      {(title ||
        props.caption ||
        props.log !== undefined ||
        props.smoothing !== undefined) && (
        <figcaption>
          {title && <span className="jp-mllab-timechart-title">{title}</span>}
          {props.caption}
          {props.log !== undefined && (
            <label className="jp-mllab-timechart-control">
              <input
                type="checkbox"
                checked={log}
                onChange={e => setLog(e.target.checked)}
              />
              log
            </label>
          )}
          {props.smoothing !== undefined && (
            <label className="jp-mllab-timechart-control">
              smoothing
              <input
                type="range"
                min={0}
                max={0.99}
                step={0.01}
                value={weight}
                aria-label={`Smoothing of ${props.ariaLabel}`}
                onChange={e => setWeight(Number(e.target.value))}
              />
              <output>{weight.toFixed(2)}</output>
            </label>
          )}
        </figcaption>
      )}
      <div ref={box} className="jp-mllab-timechart-plot" />
    </figure>
  );
}
