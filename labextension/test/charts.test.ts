import { describe, expect, it } from 'vitest';

import {
  alignCurves,
  bandScale,
  extent,
  fmt,
  linearScale,
  lossLike,
  pointBudget,
  smooth,
  ticks
} from '../src/charts/scales';
import {
  appendNewer,
  Histories,
  needsFullFetch,
  newest
} from '../src/panels/experiments/histories';
import { DEFAULT_SETTINGS, LabSettings } from '../src/settings';

describe('charts/scales', () => {
  it('extent: finite values only, widened when flat, [0, 1] when empty', () => {
    expect(extent([3, -1, 2])).toEqual([-1, 3]);
    expect(extent([1, null, NaN, Infinity, 5, undefined])).toEqual([1, 5]);
    expect(extent([2, 2])).toEqual([1.8, 2.2]);
    expect(extent([0])).toEqual([-0.1, 0.1]);
    expect(extent([])).toEqual([0, 1]);
  });

  it('linear and band scales map onto pixels, y running backwards', () => {
    const y = linearScale([0, 10], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(10)).toBe(0);
    expect(y(2.5)).toBe(150);
    expect(linearScale([1, 1], [0, 100])(1)).toBe(0); // a flat domain: no NaN
    const band = bandScale(['a', 'b', 'c', 'd'], [0, 100]);
    expect(['a', 'b', 'c', 'd'].map(band)).toEqual([12.5, 37.5, 62.5, 87.5]);
  });

  it('ticks: round numbers inside the domain', () => {
    expect(ticks([0, 1], 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks([3, 97], 4)).toEqual([20, 40, 60, 80]);
    expect(ticks([-0.013, 0.021], 3)).toEqual([-0.01, 0, 0.01, 0.02]);
    expect(ticks([5, 5])).toEqual([5]);
  });

  it('fmt: short numbers, exponents for the very large and small, – for none', () => {
    expect(fmt(1 / 6)).toBe('0.1667');
    expect(fmt(123456)).toBe('1.23e+5');
    expect(fmt(0.00012)).toBe('1.20e-4');
    expect(fmt(0)).toBe('0');
    expect(fmt(null)).toBe('–');
    expect(fmt(NaN)).toBe('–');
  });

  it("smooth: TensorBoard's debiased EMA, gaps kept", () => {
    const flat = smooth([5, 5, 5, 5], 0.9);
    flat.forEach(v => expect(v).toBeCloseTo(5, 10)); // debiased: no pull to 0
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([0, 10, null, 10], 0.5) as number[];
    expect(s[0]).toBe(0);
    // (0.5 * 0 * 0.5 + 0.5 * 10) / (1 - 0.25)
    expect(s[1]).toBeCloseTo(5 / 0.75, 10);
    expect(s[2]).toBeNull();
    expect(s[3]).toBeGreaterThan(s[1]);
    expect(s[3]).toBeLessThan(10);
  });

  it('alignCurves: the union of steps, a gap where a curve has none', () => {
    const { x, series } = alignCurves([
      {
        label: 'a',
        points: [
          [0, 1],
          [2, 3]
        ]
      },
      {
        label: 'b',
        points: [
          [1, 5],
          [2, null],
          [4, 6]
        ],
        color: '#123456'
      }
    ]);
    expect(x).toEqual([0, 1, 2, 4]);
    expect(series[0].values).toEqual([1, null, 3, null]);
    expect(series[1]).toEqual({
      label: 'b',
      values: [null, 5, null, 6],
      color: '#123456'
    });
  });

  it('lossLike and pointBudget', () => {
    expect(['loss', 'val_loss', 'MSE', 'error_rate'].every(lossLike)).toBe(
      true
    );
    expect(['accuracy', 'lr', 'f1'].some(lossLike)).toBe(false);
    expect(pointBudget(720)).toBe(1440);
    expect(pointBudget(10)).toBe(200);
    expect(pointBudget(1e6)).toBe(10_000);
  });
});

describe('experiments/histories', () => {
  const p = (step: number, timestamp: number, value: number | null = 1) => ({
    step,
    value,
    timestamp
  });

  it('appendNewer: only points after the last one held, new metrics taken whole', () => {
    const old: Histories = { loss: [p(0, 10), p(1, 11)] };
    const fresh: Histories = {
      loss: [p(1, 11), p(2, 11), p(3, 12)], // the same point again, then newer
      acc: [p(0, 12)]
    };
    const joined = appendNewer(old, fresh);
    expect(joined.loss.map(q => q.step)).toEqual([0, 1, 2, 3]);
    expect(joined.acc).toEqual([p(0, 12)]);
    expect(old.loss).toHaveLength(2); // not mutated
    expect(newest(joined)).toBe(12);
    expect(newest({})).toBeUndefined();
  });

  it('needsFullFetch: first time, grown past twice the budget, or a new width', () => {
    const have: Histories = {
      loss: Array.from({ length: 500 }, (_, i) => p(i, i))
    };
    expect(needsFullFetch({}, 0, 1000)).toBe(true);
    expect(needsFullFetch(have, 1000, 1000)).toBe(false);
    expect(needsFullFetch(have, 200, 200)).toBe(true);
    expect(needsFullFetch(have, 1000, 1600)).toBe(true);
    expect(needsFullFetch(have, 1000, 600)).toBe(true);
  });
});

describe('settings', () => {
  it('applies values, clamps them, falls back to defaults, signals changes', () => {
    const s = new LabSettings();
    const seen: number[] = [];
    s.changed.connect((_, v) => seen.push(v.chartSmoothing));
    expect(s.current).toEqual(DEFAULT_SETTINGS);
    s.apply({ chartSmoothing: 0.6, runsColumns: ['params.lr'] });
    expect(s.current.chartSmoothing).toBe(0.6);
    expect(s.current.runsColumns).toEqual(['params.lr']);
    s.apply({ chartSmoothing: 5, refreshInterval: 0, defaultConcurrency: 2.6 });
    expect(s.current).toMatchObject({
      chartSmoothing: 0.99,
      refreshInterval: 1,
      defaultConcurrency: 3,
      runsColumns: []
    });
    s.apply({ ...s.current }); // no change: no signal
    expect(seen).toEqual([0.6, 0.99]);
  });
});
