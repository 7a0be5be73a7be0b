import { ServerConnection } from '@jupyterlab/services';

import { apiUrl, MLLabApiError, requestAPI } from './request';
import type { components, operations } from './schema';

type S = components['schemas'];

/** The runs table: the shapes of GET runs and GET runs/compare (docs/openapi.json). */
export type IRunRow = S['Run'];
export type IColumns = S['RunColumns'];
export type IRunsPage = S['RunsPage'];
/** `histories` is {metric: {run_id: [[step, value], ...]}}, a value null for NaN/inf. */
export type ICompare = S['RunsCompare'];

/** GET runs' query (its `format` is the CSV download's); this client always names the project. */
type Q = NonNullable<operations['Runs_get']['parameters']['query']>;
export type IRunsQuery = Omit<Q, 'format'> & Required<Pick<Q, 'project'>>;

function asQuery(q: IRunsQuery): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null && v !== '') {
      out[k] = String(v);
    }
  }
  return out;
}

export function listRuns(q: IRunsQuery): Promise<IRunsPage> {
  return requestAPI<IRunsPage>(['runs'], {}, asQuery(q));
}

export function compareRuns(ids: string[]): Promise<ICompare> {
  return requestAPI<ICompare>(['runs', 'compare'], {}, { ids: ids.join(',') });
}

/** Every run the query matches, as a CSV file the browser saves. */
export async function downloadRunsCsv(q: IRunsQuery): Promise<void> {
  const query = new URLSearchParams({
    ...asQuery({ ...q, offset: undefined, limit: undefined }),
    format: 'csv'
  });
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(
    `${apiUrl('runs')}?${query}`,
    {},
    settings
  );
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new MLLabApiError(
      response.status,
      data.message ?? response.statusText,
      data.reason ?? ''
    );
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${q.project}-runs.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The run's page in MLflow's UI, when the lab knows of one. */
export function mlflowRunUrl(
  ui: string | null,
  row: Pick<IRunRow, 'experiment_id' | 'run_id'>
): string | null {
  return ui
    ? `${ui}/#/experiments/${row.experiment_id}/runs/${row.run_id}`
    : null;
}

/** Whether smaller is better for a metric, by its name. */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error|err\b|mse|mae|rmse|perplexity|time|latency/i.test(metric);
}
