import type { IServiceStats } from '../../api/services';

/** The seconds of `series` as a continuous axis: seconds without traffic are gaps, not lines. */
export function perSecond(series: IServiceStats['series'] | undefined): {
  x: number[];
  p50: (number | null)[];
  p99: (number | null)[];
  requests: (number | null)[];
  errors: (number | null)[];
} {
  const points = [...(series ?? [])].sort((a, b) => a.t - b.t);
  const out = {
    x: [] as number[],
    p50: [] as (number | null)[],
    p99: [] as (number | null)[],
    requests: [] as (number | null)[],
    errors: [] as (number | null)[]
  };
  let last: number | null = null;
  for (const p of points) {
    if (last !== null && p.t - last > 1) {
      // one empty second between two busy ones breaks the latency lines; counts are 0
      out.x.push(last + 1);
      out.p50.push(null);
      out.p99.push(null);
      out.requests.push(0);
      out.errors.push(0);
      if (p.t - last > 2) {
        out.x.push(p.t - 1);
        out.p50.push(null);
        out.p99.push(null);
        out.requests.push(0);
        out.errors.push(0);
      }
    }
    out.x.push(p.t);
    out.p50.push(p.p50_ms);
    out.p99.push(p.p99_ms);
    out.requests.push(p.requests);
    out.errors.push(p.errors);
    last = p.t;
  }
  return out;
}
