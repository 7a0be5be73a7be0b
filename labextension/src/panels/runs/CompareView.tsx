import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useMemo, useState } from 'react';

import {
  compareRuns,
  ICompare,
  lowerIsBetter,
  mlflowRunUrl
} from '../../api/runs';
import {
  color,
  fmt,
  IAxisRun,
  OverlaidCurves,
  ParallelCoordinates,
  Scatter
} from './charts';
import { pointBudget } from '../../charts/scales';

/** A run's [step, value] pairs of one metric (a value is null for NaN/inf). */
function steps(
  points: ICompare['histories'][string][string] | undefined
): [number, number | null][] {
  return (points ?? []).map(([step, value]) => [Number(step), value ?? null]);
}

function label(run: { name: string | null; run_id: string }): string {
  return run.name || run.run_id.slice(0, 8);
}

/** Parameters and metrics side by side (differences marked), curves overlaid, a parallel
 * coordinates chart and a scatter of a parameter against the chosen metric. */
function Compare(props: { ids: string[] }): JSX.Element {
  const [data, setData] = useState<ICompare | null>(null);
  const [error, setError] = useState('');
  const [metric, setMetric] = useState('');
  const [xParam, setXParam] = useState('');
  const [onlyDiffs, setOnlyDiffs] = useState(false);
  useEffect(() => {
    // each curve thinned on the server to what its chart's width can show
    compareRuns(props.ids, { max_points: pointBudget(420) })
      .then(d => {
        setData(d);
        const metrics = Object.keys(d.metrics).filter(
          k => !k.startsWith('system/')
        );
        setMetric(metrics[0] ?? Object.keys(d.metrics)[0] ?? '');
        const numeric = Object.keys(d.params).filter(k =>
          d.runs.every(
            r => r.params[k] === undefined || !isNaN(Number(r.params[k]))
          )
        );
        setXParam(numeric.find(k => d.params[k]) ?? numeric[0] ?? '');
      })
      .catch(e => setError((e as Error).message));
  }, [props.ids.join(',')]);

  const best = useMemo(() => {
    if (!data || !metric) {
      return null;
    }
    const low = lowerIsBetter(metric);
    let found: string | null = null;
    let value = low ? Infinity : -Infinity;
    for (const r of data.runs) {
      const v = r.metrics[metric];
      if (v !== null && v !== undefined && (low ? v < value : v > value)) {
        [found, value] = [r.run_id, v];
      }
    }
    return found;
  }, [data, metric]);

  if (error) {
    return <div className="jp-mllab-error">{error}</div>;
  }
  if (!data) {
    return <div className="jp-mllab-empty">Loading…</div>;
  }
  const runs = data.runs;
  const paramKeys = Object.keys(data.params).filter(
    k => !onlyDiffs || data.params[k]
  );
  const metricKeys = Object.keys(data.metrics).filter(
    k => !onlyDiffs || data.metrics[k]
  );
  const axisRuns: IAxisRun[] = runs.map((r, i) => ({
    label: label(r),
    color: color(i),
    best: r.run_id === best,
    values: { ...r.params, ...r.metrics }
  }));
  const varying = Object.keys(data.params).filter(k => data.params[k]);
  const axes = [
    ...(varying.length ? varying : Object.keys(data.params)),
    ...(metric ? [metric] : [])
  ];
  // a curve needs several steps: a metric logged once per run is in the table above
  const curveKeys = Object.keys(data.histories)
    .filter(
      k =>
        !k.startsWith('system/') &&
        Object.values(data.histories[k]).some(points => points.length > 1)
    )
    .sort((a, b) =>
      a === metric ? -1 : b === metric ? 1 : a.localeCompare(b)
    );
  const cell = (k: string, kind: 'params' | 'metrics') =>
    runs.map(r => {
      const v = kind === 'params' ? r.params[k] : r.metrics[k];
      return (
        <td key={r.run_id} className={kind === 'metrics' ? 'jp-mllab-num' : ''}>
          {v === undefined
            ? ''
            : kind === 'metrics'
              ? fmt(v as number | null)
              : String(v)}
        </td>
      );
    });
  return (
    <div className="jp-mllab-compare">
      <div className="jp-mllab-compare-bar">
        <label>
          Best by{' '}
          <select
            value={metric}
            onChange={e => setMetric(e.target.value)}
            aria-label="metric"
          >
            {Object.keys(data.metrics).map(k => (
              <option key={k} value={k}>
                {k} ({lowerIsBetter(k) ? 'lowest' : 'highest'})
              </option>
            ))}
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={onlyDiffs}
            onChange={e => setOnlyDiffs(e.target.checked)}
          />{' '}
          Only differences
        </label>
      </div>
      <table className="jp-mllab-compare-table" aria-label="comparison">
        <thead>
          <tr>
            <th />
            {runs.map((r, i) => {
              const link = mlflowRunUrl(data.mlflow_ui, r);
              return (
                <th
                  key={r.run_id}
                  className={r.run_id === best ? 'jp-mllab-best' : ''}
                >
                  <span
                    className="jp-mllab-swatch"
                    style={{ background: color(i) }}
                  />
                  {label(r)}
                  {r.run_id === best && (
                    <span
                      className="jp-mllab-best-badge"
                      title={`best ${metric}`}
                    >
                      {' '}
                      ★ best
                    </span>
                  )}
                  <div className="jp-mllab-subtle">
                    {r.status}
                    {link && (
                      <>
                        {' · '}
                        <a
                          href={link}
                          target="_blank"
                          rel="noopener noreferrer"
                        >
                          MLflow
                        </a>
                      </>
                    )}
                  </div>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          <tr className="jp-mllab-group">
            <td colSpan={runs.length + 1}>Parameters</td>
          </tr>
          {paramKeys.map(k => (
            <tr
              key={`p-${k}`}
              className={data.params[k] ? 'jp-mllab-differs' : ''}
            >
              <th>{k}</th>
              {cell(k, 'params')}
            </tr>
          ))}
          <tr className="jp-mllab-group">
            <td colSpan={runs.length + 1}>Metrics</td>
          </tr>
          {metricKeys.map(k => (
            <tr
              key={`m-${k}`}
              className={data.metrics[k] ? 'jp-mllab-differs' : ''}
            >
              <th>{k}</th>
              {cell(k, 'metrics')}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="jp-mllab-section-title">Curves</div>
      <div className="jp-mllab-charts">
        {curveKeys.map(k => (
          <OverlaidCurves
            key={k}
            metric={k}
            series={runs.map((r, i) => ({
              label: label(r),
              color: color(i),
              points: steps(data.histories[k][r.run_id])
            }))}
          />
        ))}
        {curveKeys.length === 0 && (
          <div className="jp-mllab-empty">No metric curves.</div>
        )}
      </div>
      <div className="jp-mllab-section-title">
        Parameters against {metric || 'a metric'}
      </div>
      <div className="jp-mllab-charts">
        <ParallelCoordinates axes={axes} runs={axisRuns} />
        <figure className="jp-mllab-chart">
          <figcaption>
            <select
              value={xParam}
              onChange={e => setXParam(e.target.value)}
              aria-label="parameter"
            >
              {Object.keys(data.params).map(k => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>{' '}
            against {metric}
          </figcaption>
          {xParam && metric && (
            <Scatter xName={xParam} yName={metric} runs={axisRuns} />
          )}
        </figure>
      </div>
    </div>
  );
}

export function createCompareView(ids: string[]): MainAreaWidget {
  const content = ReactWidget.create(<Compare ids={ids} />);
  content.addClass('jp-mllab-compare-view');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-mllab-compare-${ids.map(i => i.slice(0, 6)).join('-')}`;
  widget.title.label = `Compare ${ids.length} runs`;
  widget.title.closable = true;
  return widget;
}
