import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { IJob } from '../src/api/jobs';
import {
  datasetName,
  formatBytes,
  formatWhen
} from '../src/panels/datasets/format';
import {
  fraction,
  notebookName,
  params,
  seconds
} from '../src/panels/experiments/format';
import {
  formatEpoch,
  formatValue,
  modelWidgetId
} from '../src/panels/models/format';
import { serverSummary, shortTrackingUri } from '../src/panels/projects/format';

describe('datasets/format', () => {
  it('formatBytes: bytes, then binary units with one decimal under 10', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(10 * 1024)).toBe('10 KB');
    expect(formatBytes(5 * 2 ** 30)).toBe('5.0 GB');
    expect(formatBytes(2 ** 50)).toBe('1024 TB'); // no unit past TB
  });

  describe('formatWhen', () => {
    beforeEach(() => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2026-06-01T12:00:00Z'));
    });
    afterEach(() => {
      vi.useRealTimers();
    });
    it('says how long ago, then the date', () => {
      expect(formatWhen('2026-06-01T11:59:30Z')).toBe('just now');
      expect(formatWhen('2026-06-01T11:55:00Z')).toBe('5 min ago');
      expect(formatWhen('2026-06-01T09:00:00Z')).toBe('3 h ago');
      expect(formatWhen('2026-05-01T12:00:00Z')).toBe(
        new Date('2026-05-01T12:00:00Z').toLocaleDateString()
      );
    });
    it('formatEpoch: the same from epoch seconds, a dash for none', () => {
      const now = Date.parse('2026-06-01T12:00:00Z') / 1000;
      expect(formatEpoch(now - 120)).toBe('2 min ago');
      expect(formatEpoch(null)).toBe('—');
      expect(formatEpoch(undefined)).toBe('—');
    });
  });

  it('datasetName: the stem, in the characters names allow', () => {
    expect(datasetName('wine.csv')).toBe('wine');
    expect(datasetName('images.tar.gz')).toBe('images');
    expect(datasetName('My Data (v2).parquet')).toBe('My-Data-v2-');
    expect(datasetName('__.csv')).toBe('dataset');
    expect(datasetName('x'.repeat(300) + '.csv')).toHaveLength(128);
  });
});

function job(patch: Partial<IJob>): IJob {
  return {
    kind: 'run',
    status: 'RUNNING',
    progress: null,
    counts: null,
    parameters: {},
    ...patch
  } as IJob;
}

const progress = (done: number, total: number | null) => ({
  cells_done: done,
  cells_total: total,
  current_cell: null,
  current_source: null,
  elapsed: 1,
  eta: null
});

describe('experiments/format', () => {
  it('fraction: cells done of the total; a finished run is full', () => {
    expect(fraction(job({ progress: progress(5, 5) }))).toBe(1);
    expect(fraction(job({ progress: progress(2, 5) }))).toBeCloseTo(0.4);
    expect(
      fraction(job({ status: 'COMPLETED', progress: progress(5, 5) }))
    ).toBe(1);
    // no count of cells: full once completed, empty before
    expect(fraction(job({ status: 'COMPLETED', progress: null }))).toBe(1);
    expect(fraction(job({ progress: progress(0, null) }))).toBe(0);
  });

  it("fraction: a sweep's finished runs of all of them", () => {
    const counts = {
      QUEUED: 1,
      RUNNING: 1,
      COMPLETED: 4,
      FAILED: 1,
      CANCELLED: 1
    };
    expect(fraction(job({ kind: 'sweep', counts }))).toBe(6 / 8);
  });

  it('seconds: tenths under 10 s, then minutes, then hours', () => {
    expect(seconds(null)).toBe('');
    expect(seconds(undefined)).toBe('');
    expect(seconds(3.14)).toBe('3.1 s');
    expect(seconds(42.4)).toBe('42 s');
    expect(seconds(125)).toBe('2 min 5 s');
    expect(seconds(3 * 3600 + 7 * 60)).toBe('3 h 7 min');
  });

  it('params and notebookName', () => {
    expect(params(job({ parameters: { lr: 0.1, opt: 'adam', l: [8] } }))).toBe(
      'lr=0.1, opt=adam, l=[8]'
    );
    expect(params(job({ parameters: null }))).toBe('');
    expect(notebookName('a/b/train.ipynb')).toBe('train.ipynb');
    expect(notebookName('train.ipynb')).toBe('train.ipynb');
  });
});

describe('models/format', () => {
  it('formatValue: integers whole, floats to 4 digits, null a dash', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(null)).toBe('—');
    expect(formatValue('x')).toBe('x');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
  });

  it('modelWidgetId: one id per model, safe in a DOM id', () => {
    expect(modelWidgetId('demo', 'wine')).toBe('jp-mllab-model-demo--wine');
    const odd = modelWidgetId('demo', 'wine.v2/x');
    expect(odd).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(odd).not.toBe(modelWidgetId('demo', 'wine_v2_x'));
  });
});

describe('projects/format', () => {
  it('shortTrackingUri: scheme and last two parts; a server by its host', () => {
    expect(shortTrackingUri('sqlite:////home/me/.mllab/mlflow.db')).toBe(
      'sqlite:…/.mllab/mlflow.db'
    );
    expect(shortTrackingUri('http://mlflow.example:5000/path')).toBe(
      'mlflow.example:5000'
    );
    expect(shortTrackingUri('/a/b/c/d')).toBe('…/c/d');
    expect(shortTrackingUri('file:/x')).toBe('file:/x');
  });

  it('serverSummary: two lines, GPUs counted', () => {
    const info = {
      version: '0.1.0',
      executor: 'local',
      max_concurrent_runs: 2,
      gpu: { available: true, count: 1 },
      tracking_uri: 'sqlite:////h/lab/mlflow.db'
    } as Parameters<typeof serverSummary>[0];
    expect(serverSummary(info)).toEqual([
      'ML Lab 0.1.0 · local ×2 · 1 GPU',
      'MLflow sqlite:…/lab/mlflow.db'
    ]);
    info.gpu = { ...info.gpu, available: false, count: 0 };
    expect(serverSummary(info)[0]).toBe('ML Lab 0.1.0 · local ×2 · no GPU');
  });
});
