/**
 * A run page's metric histories as pure data: what an incremental fetch asks after, how
 * its answer joins what the page has, and when to fetch everything again (thinned anew).
 */

import type { components } from '../../api/schema';

/** A point as the metrics route sends it. */
export type IPoint = components['schemas']['MetricPoint'];

export type Histories = Record<string, IPoint[]>;

/** The newest timestamp of any point: what an incremental fetch asks after. */
export function newest(histories: Histories): number | undefined {
  let t: number | undefined;
  for (const points of Object.values(histories)) {
    const last = points[points.length - 1];
    if (last && (t === undefined || last.timestamp > t)) {
      t = last.timestamp;
    }
  }
  return t;
}

/** `fresh` after `old`: only points newer than old's last (by time, then step). */
export function appendNewer(old: Histories, fresh: Histories): Histories {
  const out: Histories = { ...old };
  for (const [name, points] of Object.entries(fresh)) {
    const have = out[name] ?? [];
    const last = have[have.length - 1];
    const newer = last
      ? points.filter(
          p =>
            p.timestamp > last.timestamp ||
            (p.timestamp === last.timestamp && p.step > last.step)
        )
      : points;
    if (newer.length) {
      out[name] = have.concat(newer);
    }
  }
  return out;
}

/**
 * Whether the next fetch starts over: nothing fetched yet, the kept points grew past twice
 * the budget (a long live run), or the chart's width asks for a budget far from the last.
 */
export function needsFullFetch(
  have: Histories,
  lastBudget: number,
  budget: number
): boolean {
  const largest = Math.max(0, ...Object.values(have).map(p => p.length));
  return (
    lastBudget === 0 ||
    largest > 2 * lastBudget ||
    budget > 1.5 * lastBudget ||
    budget < lastBudget / 1.5
  );
}
