/**
 * Stand-in for F1's CONTRACT C5 poll.ts until h-F1 is merged (the merge takes F1's file).
 */
import { Poll } from '@lumino/polling';
import { useEffect, useRef } from 'react';

export interface IPollOptions {
  name: string;
  interval?: number;
  active?: boolean;
  deps?: unknown[];
}

export function usePoll(
  fn: () => Promise<void>,
  options: IPollOptions
): { refresh: () => Promise<void> } {
  const latest = useRef(fn);
  latest.current = fn;
  const poll = useRef<Poll | null>(null);
  const active = options.active ?? true;
  useEffect(() => {
    if (!active) {
      return;
    }
    const p = new Poll({
      factory: () => latest.current(),
      frequency: {
        interval: options.interval ?? 10_000,
        backoff: true,
        max: 60_000
      },
      standby: 'when-hidden',
      name: options.name
    });
    poll.current = p;
    return () => {
      p.dispose();
      poll.current = null;
    };
  }, [active, options.interval, options.name, ...(options.deps ?? [])]);
  return {
    refresh: async () => {
      if (poll.current) {
        await poll.current.refresh();
      } else {
        await latest.current();
      }
    }
  };
}
