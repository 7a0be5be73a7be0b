import { useCallback, useRef, useState } from 'react';

import { jobMetrics } from '../../api/jobs';
import { pointBudget } from '../../charts/scales';
import { appendNewer, Histories, needsFullFetch, newest } from './histories';

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
      const full = needsFullFetch(old.histories, old.budget, budget);
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
