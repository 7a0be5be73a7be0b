import { Poll } from '@lumino/polling';
import { useEffect, useMemo, useRef } from 'react';

import { LabSettings, settings } from './settings';

/** Errors back off up to this long between tries. */
const MAX_BACKOFF_MS = 60_000;

export interface IPollOptions {
  /** The poll's name (shows in Lumino's debugging, and keeps polls apart). */
  name: string;
  /** Milliseconds between calls; default: the refreshInterval setting (and it follows it). */
  interval?: number;
  /** False: standby (no calls) until it turns true again, then a call at once. Default true. */
  active?: boolean;
  /** When any of these change, the poll starts over with a call at once. */
  deps?: unknown[];
  /** Whether the panel shows (asked at each tick; hidden: standby). */
  visible?: () => boolean;
}

export interface IPollHandle {
  /** Call now (not waiting for the interval); resolves when that call is done. */
  refresh: () => Promise<void>;
}

export interface ICreatePollOptions {
  name: string;
  /** Milliseconds between calls; default: the refreshInterval setting (and it follows it). */
  interval?: number;
  /** True while nothing should be fetched (say, the widget is hidden). */
  standby?: () => boolean;
  /** Start ticking at once (default true). */
  auto?: boolean;
}

function intervalOf(interval: number | undefined): number {
  return interval ?? settings.current.refreshInterval * 1000;
}

/**
 * A Lumino `Poll` around `fn`: a call every interval, backing off on errors (a rejected `fn`:
 * let it throw after showing the error), in standby while the page is hidden or `standby()`
 * says so, and a call at once when the page is shown again. Without an explicit interval it
 * follows the refreshInterval setting. Dispose it with the widget.
 */
export function createPoll(
  fn: () => Promise<void>,
  options: ICreatePollOptions
): Poll {
  const poll = new Poll({
    auto: options.auto ?? true,
    factory: fn,
    frequency: {
      interval: intervalOf(options.interval),
      backoff: true,
      max: Math.max(MAX_BACKOFF_MS, intervalOf(options.interval))
    },
    standby: () => (options.standby?.() ? true : 'when-hidden'),
    name: options.name
  });
  // the page shown again: fresh data at once, not an interval later
  const shown = () => {
    if (document.visibilityState === 'visible' && !options.standby?.()) {
      void poll.refresh();
    }
  };
  document.addEventListener('visibilitychange', shown);
  poll.disposed.connect(() =>
    document.removeEventListener('visibilitychange', shown)
  );
  if (options.interval === undefined) {
    const follow = (_: LabSettings) =>
      setFrequency(poll, intervalOf(undefined));
    settings.changed.connect(follow);
    poll.disposed.connect(() => settings.changed.disconnect(follow));
  }
  return poll;
}

/** A poll's interval (its backoff's ceiling at least as long); the next tick takes it. */
function setFrequency(poll: Poll, interval: number): void {
  poll.frequency = {
    ...poll.frequency,
    interval,
    max: Math.max(MAX_BACKOFF_MS, interval)
  };
}

/** Ask a poll for a call now and wait for it (a poll in standby is skipped: call `fn`). */
async function refreshNow(
  poll: Poll,
  fn: () => Promise<void>,
  standby: boolean
): Promise<void> {
  if (poll.isDisposed || standby || document.hidden) {
    return fn();
  }
  await poll.refresh();
  await poll.tick;
}

/**
 * Call `fn` now and then every interval while the view is mounted, through one Lumino `Poll`
 * (backoff on errors, standby while the page is hidden, `active` is false or `visible()`
 * says the panel is hidden). The latest `fn` is called each time, so it may close over
 * fresh state; `deps` restart the poll. Without `interval` it follows the refreshInterval
 * setting; an `interval` that changes (say, quick while something runs) applies from the
 * next tick.
 */
export function usePoll(
  fn: () => Promise<void>,
  options: IPollOptions
): IPollHandle {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const activeRef = useRef(options.active ?? true);
  activeRef.current = options.active ?? true;
  const visibleRef = useRef(options.visible);
  visibleRef.current = options.visible;
  const intervalRef = useRef(options.interval);
  intervalRef.current = options.interval;
  const pollRef = useRef<Poll | null>(null);
  const call = () => fnRef.current();
  const standby = () =>
    !activeRef.current || (visibleRef.current ? !visibleRef.current() : false);

  useEffect(() => {
    const poll = createPoll(call, {
      name: options.name,
      interval: intervalOf(intervalRef.current),
      standby
    });
    pollRef.current = poll;
    // no explicit interval: follow the setting
    const follow = () => setFrequency(poll, intervalOf(intervalRef.current));
    settings.changed.connect(follow);
    return () => {
      settings.changed.disconnect(follow);
      pollRef.current = null;
      poll.dispose();
    };
  }, [options.name, ...(options.deps ?? [])]);

  useEffect(() => {
    if (pollRef.current) {
      setFrequency(pollRef.current, intervalOf(options.interval));
    }
  }, [options.interval]);

  // back from standby: fresh data at once, not an interval later
  const wasActive = useRef(activeRef.current);
  useEffect(() => {
    if (activeRef.current && !wasActive.current && pollRef.current) {
      void pollRef.current.refresh();
    }
    wasActive.current = activeRef.current;
  }, [options.active]);

  return useMemo(
    () => ({
      refresh: () => {
        const poll = pollRef.current;
        return poll ? refreshNow(poll, call, standby()) : call();
      }
    }),
    []
  );
}
