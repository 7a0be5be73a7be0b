import { useCallback, useRef, useState } from 'react';

import { IMetricPoint, jobMetrics } from '../../api/jobs';
import { pointBudget } from '../../charts/scales';

export type Histories = Record<string, IMetricPoint[]>;

/** The newest timestamp of any point: what an incremental fetch asks after. */
function newest(histories: Histories): number | undefined {
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
 * A run's metric histories, thinned on the server to what the charts' width can show and
 * fetched incrementally: after the first fetch only the points logged since the newest
 * one seen. When the kept points grow past twice the budget (a long live run), or the
 * width asks for a budget far from the last one, the next fetch starts over, thinned anew.
 */
export function useMetricHistories(jobId: string): {
  histories: Histories;
  fetch: (width: number) => Promise<void>;
  budget: number;
} {
  const [histories, setHistories] = useState<Histories>({});
  const state = useRef<{ histories: Histories; budget: number }>({
    histories: {},
    budget: 0
  });
  const fetch = useCallback(
    async (width: number) => {
      const budget = pointBudget(width);
      const old = state.current;
      const largest = Math.max(
        0,
        ...Object.values(old.histories).map(p => p.length)
      );
      const full =
        old.budget === 0 ||
        largest > 2 * old.budget ||
        budget > 1.5 * old.budget ||
        budget < old.budget / 1.5;
      const since = full ? undefined : newest(old.histories);
      const reply = await jobMetrics(jobId, { max_points: budget, since });
      const next = full
        ? reply.metrics
        : appendNewer(old.histories, reply.metrics);
      state.current = { histories: next, budget: full ? budget : old.budget };
      if (full || Object.keys(reply.metrics).length) {
        setHistories(next);
      }
    },
    [jobId]
  );
  return { histories, fetch, budget: state.current.budget };
}
