import { describe, expect, it } from 'vitest';

import type { IService } from '../src/api/services';
import {
  curlCommand,
  dotClass,
  formatMs,
  formatUptime,
  modelOf,
  servedText,
  serviceWidgetId,
  statusText
} from '../src/panels/services/format';
import {
  cellText,
  parseCell,
  requestBody
} from '../src/panels/services/frames';
import { perSecond } from '../src/panels/services/traffic';

/** A service as the server answers it (CONTRACT C3), with what a test changes. */
function service(over: Partial<IService> = {}): IService {
  return {
    name: 'wine',
    project: 'demo',
    status: 'running',
    ready: true,
    url: 'http://127.0.0.1:5005',
    port: 5005,
    pid: 42,
    token: 'tok-123',
    proxy_url: '/mllab/api/services/wine/proxy/',
    source: { model: 'demo/wine@3', alias: null, bundle: null },
    model: { name: 'wine', version: 3, key: 'demo/wine@3', run_id: 'r' },
    options: {
      workers: 1,
      batching: { enabled: true, max_rows: 64, window_ms: 2 },
      max_body_bytes: 33554432
    },
    created_at: 0,
    started_at: 0,
    uptime_s: 5,
    restarts: 0,
    requests: 0,
    p50_ms: null,
    error: null,
    log_tail: null,
    input_example: null,
    ...over
  };
}

describe('formatUptime', () => {
  it('says seconds, minutes, hours and days, short', () => {
    expect(formatUptime(42.9)).toBe('42 s');
    expect(formatUptime(300)).toBe('5 min');
    expect(formatUptime(3 * 3600 + 20 * 60)).toBe('3 h 20 min');
    expect(formatUptime(7200)).toBe('2 h');
    expect(formatUptime(2 * 86400 + 4 * 3600)).toBe('2 d 4 h');
  });
  it('has a dash for none', () => {
    expect(formatUptime(null)).toBe('—');
    expect(formatUptime(undefined)).toBe('—');
    expect(formatUptime(NaN)).toBe('—');
  });
});

describe('formatMs', () => {
  it('keeps more digits for small latencies', () => {
    expect(formatMs(0.8412)).toBe('0.84 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(1204.4)).toBe(`${(1204).toLocaleString()} ms`);
    expect(formatMs(null)).toBe('—');
  });
});

describe('status', () => {
  it('reads health with the status', () => {
    expect(statusText(service())).toBe('running · healthy');
    expect(statusText(service({ ready: false }))).toBe('running · not ready');
    expect(statusText(service({ status: 'failed', restarts: 5 }))).toBe(
      'failed after 5 restarts'
    );
    expect(statusText(service({ status: 'stopped' }))).toBe('stopped');
  });
  it('colours the dot by health, not by status alone', () => {
    expect(dotClass(service())).toContain('jp-mllab-service-healthy');
    expect(dotClass(service({ ready: false }))).toContain(
      'jp-mllab-service-starting'
    );
    expect(dotClass(service({ status: 'restarting' }))).toContain(
      'jp-mllab-service-starting'
    );
    expect(dotClass(service({ status: 'failed' }))).toContain(
      'jp-mllab-service-failed'
    );
    expect(dotClass(service({ status: 'stopping' }))).toContain(
      'jp-mllab-service-stopped'
    );
  });
});

describe('servedText and modelOf', () => {
  it('names the version, and the alias it follows', () => {
    expect(servedText(service())).toBe('wine@3');
    expect(
      servedText(
        service({
          source: {
            model: 'demo/wine@champion',
            alias: 'champion',
            bundle: null
          }
        })
      )
    ).toBe('wine@3 (@champion)');
  });
  it("names a bundle's file when there is no registered version", () => {
    const bundled = service({
      source: { model: null, alias: null, bundle: 'models/wine-v3.mlbundle' },
      model: null
    });
    expect(servedText(bundled)).toBe('wine-v3.mlbundle');
    expect(modelOf(bundled)).toBeNull();
    expect(
      modelOf(
        service({
          model: {
            name: 'wine',
            version: null,
            key: 'bundle/wine',
            run_id: null
          }
        })
      )
    ).toBeNull();
  });
  it("reads the project from the model's key, else the service's", () => {
    expect(modelOf(service())).toEqual({ project: 'demo', name: 'wine' });
    expect(
      modelOf(
        service({
          project: 'other',
          model: { name: 'wine', version: 3, key: 'wine@3', run_id: null }
        })
      )
    ).toEqual({ project: 'other', name: 'wine' });
  });
});

describe('serviceWidgetId', () => {
  it('is one id per service, safe as a DOM id', () => {
    expect(serviceWidgetId('wine-2')).toBe('jp-mllab-service-wine-2');
    expect(serviceWidgetId('a.b c')).toBe('jp-mllab-service-a_b_c');
  });
});

describe('curlCommand', () => {
  it('calls the service itself with its token and the body', () => {
    const cmd = curlCommand(service(), { dataframe_split: { columns: ['a'] } });
    expect(cmd).toContain('curl -X POST http://127.0.0.1:5005/invocations');
    expect(cmd).toContain("-H 'Authorization: Bearer tok-123'");
    expect(cmd).toContain(`-d '{"dataframe_split":{"columns":["a"]}}'`);
  });
  it('quotes a single quote in the body for the shell', () => {
    const cmd = curlCommand(service(), { name: "it's" });
    expect(cmd).toContain(`-d '{"name":"it'\\''s"}'`);
  });
});

describe('Try it cells', () => {
  it('reads numbers, booleans, empty and text as typed', () => {
    expect(parseCell(' 14.2 ')).toBe(14.2);
    expect(parseCell('-3')).toBe(-3);
    expect(parseCell('true')).toBe(true);
    expect(parseCell('')).toBeNull();
    expect(parseCell('red')).toBe('red');
    expect(parseCell('Infinity')).toBe('Infinity'); // not a finite number
  });
  it('writes cells back as they read', () => {
    for (const v of [14.2, 'red', true, null]) {
      expect(parseCell(cellText(v))).toEqual(v);
    }
  });
  it("sends the table as MLflow's dataframe_split", () => {
    const frame = { columns: ['a', 'b'], data: [[1, 'x']] };
    expect(requestBody(frame)).toEqual({ dataframe_split: frame });
  });
});

describe('perSecond', () => {
  it('sorts the seconds and keeps their figures', () => {
    const out = perSecond([
      { t: 11, requests: 2, errors: 1, p50_ms: 2, p99_ms: 4 },
      { t: 10, requests: 5, errors: 0, p50_ms: 1, p99_ms: 3 }
    ]);
    expect(out.x).toEqual([10, 11]);
    expect(out.requests).toEqual([5, 2]);
    expect(out.errors).toEqual([0, 1]);
    expect(out.p50).toEqual([1, 2]);
    expect(out.p99).toEqual([3, 4]);
  });
  it('breaks the latency lines over quiet seconds, where counts are 0', () => {
    const out = perSecond([
      { t: 10, requests: 1, errors: 0, p50_ms: 1, p99_ms: 1 },
      { t: 20, requests: 1, errors: 0, p50_ms: 2, p99_ms: 2 }
    ]);
    expect(out.x).toEqual([10, 11, 19, 20]);
    expect(out.p50).toEqual([1, null, null, 2]);
    expect(out.requests).toEqual([1, 0, 0, 1]);
    const one = perSecond([
      { t: 10, requests: 1, errors: 0, p50_ms: 1, p99_ms: 1 },
      { t: 12, requests: 1, errors: 0, p50_ms: 2, p99_ms: 2 }
    ]);
    expect(one.x).toEqual([10, 11, 12]);
  });
  it('is empty without traffic', () => {
    expect(perSecond(undefined).x).toEqual([]);
    expect(perSecond([]).x).toEqual([]);
  });
});
