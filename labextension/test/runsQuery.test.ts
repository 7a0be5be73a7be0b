import { describe, expect, it } from 'vitest';

import type { IRunsPage } from '../src/api/runs';
import {
  defaultColumns,
  hasNext,
  header,
  NO_FILTERS,
  nextOrder,
  orderKey,
  PAGE,
  pageRange,
  parseColumn,
  runsQuery,
  sortOf
} from '../src/panels/runs/query';

function page(
  columns: Partial<IRunsPage['columns']>,
  metrics: Record<string, number>[] = []
): IRunsPage {
  return {
    columns: { params: [], metrics: [], tags: [], ...columns },
    runs: metrics.map(m => ({ metrics: m })),
    total: metrics.length,
    mlflow_ui: null
  } as unknown as IRunsPage;
}

describe('the runs query', () => {
  it("holds the project, the filters, the order and the page's offset", () => {
    expect(
      runsQuery('demo', { ...NO_FILTERS, status: 'FAILED' }, '', 50)
    ).toEqual({
      project: 'demo',
      filter: '',
      status: 'FAILED',
      notebook: '',
      dataset: '',
      tag: '',
      sweep: '',
      order_by: '',
      offset: 50,
      limit: PAGE
    });
  });

  it("orders by MLflow's names, descending first, then flips", () => {
    expect(orderKey('start_time')).toBe('attributes.start_time');
    const acc = { kind: 'metrics' as const, key: 'val acc' };
    expect(orderKey(acc)).toBe('metrics.`val acc`');
    let order = nextOrder('', acc);
    expect(order).toBe('metrics.`val acc` DESC');
    expect(sortOf(order, acc)).toBe('descending');
    order = nextOrder(order, acc);
    expect(order).toBe('metrics.`val acc` ASC');
    expect(sortOf(order, acc)).toBe('ascending');
    expect(nextOrder(order, acc)).toBe('metrics.`val acc` DESC');
    expect(sortOf(order, 'status')).toBe('none');
    expect(nextOrder(order, 'status')).toBe('attributes.status DESC');
  });

  it('pages: where this one is, whether one follows', () => {
    expect(pageRange(0, 50, 230)).toBe('1–50 of 230');
    expect(pageRange(200, 30, 230)).toBe('201–230 of 230');
    expect(pageRange(0, 0, 0)).toBe('0 of 0');
    expect(pageRange(50, 10, null)).toBe('51–60');
    expect(hasNext(0, 50, 230)).toBe(true);
    expect(hasNext(200, 30, 230)).toBe(false);
    expect(hasNext(0, PAGE, null)).toBe(true); // uncounted: a full page may have more
    expect(hasNext(0, 3, undefined)).toBe(false);
  });
});

describe('columns', () => {
  it('parses "kind.key" (a key may hold dots)', () => {
    expect(parseColumn('metrics.val.acc')).toEqual({
      kind: 'metrics',
      key: 'val.acc'
    });
    expect(parseColumn('attributes.x')).toBeNull();
    expect(parseColumn('metrics.')).toBeNull();
    expect(parseColumn('nodot')).toBeNull();
  });

  it('starts with four parameters and metrics, then the resources runs have', () => {
    const p = page(
      {
        params: ['a', 'b', 'c', 'd', 'e'],
        metrics: [
          'system/peak_rss_mb',
          'acc',
          'loss',
          'system/peak_gpu_memory_mb'
        ]
      },
      [{ 'system/peak_rss_mb': 100, 'system/peak_gpu_memory_mb': 0 }]
    );
    const cols = defaultColumns(p);
    expect(cols.map(c => `${c.kind}.${c.key}`)).toEqual([
      'params.a',
      'params.b',
      'params.c',
      'params.d',
      'metrics.acc',
      'metrics.loss',
      'metrics.system/peak_rss_mb' // no GPU column: no run used one
    ]);
    expect(header(cols[6])).toBe('peak RSS MB');
    expect(header(cols[4])).toBe('acc');
  });

  it('the chosen columns (the setting) where the page has them', () => {
    const p = page({ params: ['lr', 'epochs'], metrics: ['acc', 'loss'] });
    const cols = defaultColumns(p, [
      'metrics.loss',
      'params.nope',
      'params.lr'
    ]);
    expect(cols).toEqual([
      { kind: 'metrics', key: 'loss' },
      { kind: 'params', key: 'lr' }
    ]);
    // none of them there: the first ones
    expect(defaultColumns(p, ['params.nope']).length).toBe(4);
  });
});
