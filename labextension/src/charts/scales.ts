/**
 * Scales, ticks, colours and number formats that every chart shares (the uPlot time
 * series and the SVG parallel coordinates and scatter).
 */

/** One colour per series or compared run (legends, curves, lines and points share them). */
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

/** The smallest and largest finite values, widened when equal; [0, 1] when there are none. */
export function extent(
  values: Iterable<number | null | undefined>
): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v === 'number' && isFinite(v)) {
      if (v < lo) {
        lo = v;
      }
      if (v > hi) {
        hi = v;
      }
    }
  }
  if (lo > hi) {
    return [0, 1];
  }
  if (lo === hi) {
    const pad = Math.abs(lo || 1) * 0.1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** A linear map from a domain onto a range of pixels (range may run backwards, as y does). */
export function linearScale(
  domain: [number, number],
  range: [number, number]
): (v: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return v => r0 + (v - d0) * k;
}

/** A map from categories (sorted) onto the middles of equal bands of a pixel range. */
export function bandScale(
  categories: string[],
  range: [number, number]
): (v: string) => number {
  const [r0, r1] = range;
  const n = Math.max(categories.length, 1);
  return v => r0 + ((categories.indexOf(v) + 0.5) / n) * (r1 - r0);
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering a domain. */
export function ticks(domain: [number, number], count = 5): number[] {
  const [lo, hi] = domain;
  if (!isFinite(lo) || !isFinite(hi) || hi <= lo || count < 1) {
    return isFinite(lo) ? [lo] : [];
  }
  // the 1, 2, 5 or 10 times a power of ten nearest the raw step (d3's rule)
  const raw = (hi - lo) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const err = raw / power;
  const step =
    power *
    (err >= Math.sqrt(50)
      ? 10
      : err >= Math.sqrt(10)
        ? 5
        : err >= Math.sqrt(2)
          ? 2
          : 1);
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(12)));
  }
  return out;
}

/** The points a chart of this width can show (about two a pixel): a history's budget. */
export function pointBudget(width: number): number {
  return Math.max(200, Math.min(10_000, Math.round(2 * (width || 600))));
}

/** A number short enough for an axis or a legend; – for a missing one. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) {
    return '–';
  }
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0)
    ? v.toExponential(2)
    : String(Number(v.toPrecision(4)));
}

/**
 * TensorBoard's smoothing: an exponential moving average with weight `weight` (0: none,
 * 0.99: heavy), debiased so that the first points are not pulled towards zero. Gaps
 * (null, NaN, infinities) stay gaps and do not reset the average.
 */
export function smooth(
  values: (number | null)[],
  weight: number
): (number | null)[] {
  if (!(weight > 0)) {
    return values;
  }
  const w = Math.min(weight, 0.999);
  let last = 0;
  let n = 0;
  return values.map(v => {
    if (v === null || !isFinite(v)) {
      return null;
    }
    last = last * w + (1 - w) * v;
    n += 1;
    return last / (1 - Math.pow(w, n));
  });
}

/** Whether a metric's name says it is loss-like (drawn on a log scale at first). */
export function lossLike(name: string): boolean {
  return /loss|error|perplexity|mse|mae|rmse/i.test(name);
}

/**
 * Curves that each have their own x values (runs' steps, say) on one shared x: the union of
 * the xs, ascending, and each curve's value there (null where it has none: a gap).
 */
export function alignCurves(
  curves: { label: string; points: [number, number | null][]; color?: string }[]
): {
  x: number[];
  series: { label: string; values: (number | null)[]; color?: string }[];
} {
  const xs = new Set<number>();
  for (const c of curves) {
    for (const [x] of c.points) {
      xs.add(x);
    }
  }
  const x = [...xs].sort((a, b) => a - b);
  const at = new Map(x.map((v, i) => [v, i]));
  const series = curves.map(c => {
    const values: (number | null)[] = new Array(x.length).fill(null);
    for (const [px, py] of c.points) {
      values[at.get(px)!] = py;
    }
    return { label: c.label, values, color: c.color };
  });
  return { x, series };
}
