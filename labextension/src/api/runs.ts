import { ServerConnection } from '@jupyterlab/services';

import { apiUrl, MLLabApiError, requestAPI } from './request';

/** The runs table: the shapes of GET runs and GET runs/compare (jupyter_mllab/tracking/table.py). */
export interface IRunRow {
  run_id: string;
  name: string | null;
  status: string;
  start_time: number | null;
  end_time: number | null;
  duration: number | null;
  experiment_id: string;
  user: string | null;
  params: Record<string, string>;
  metrics: Record<string, number | null>;
  tags: Record<string, string>;
  datasets: { name: string; digest: string }[];
  job_id: string | null;
  notebook: string | null;
  parent_run_id: string | null;
  is_sweep: boolean;
}

export interface IColumns {
  params: string[];
  metrics: string[];
  tags: string[];
}

export interface IRunsPage {
  runs: IRunRow[];
  total: number | null;
  offset: number;
  limit: number;
  columns: IColumns;
  filter: string;
  order_by: string[];
  project: string;
  experiment_id: string;
  mlflow_ui: string | null;
}

export interface IRunsQuery {
  project: string;
  filter?: string;
  order_by?: string;
  status?: string;
  notebook?: string;
  sweep?: string;
  dataset?: string;
  tag?: string;
  offset?: number;
  limit?: number;
}

export interface ICompare {
  runs: IRunRow[];
  params: Record<string, boolean>;
  metrics: Record<string, boolean>;
  histories: Record<string, Record<string, [number, number | null][]>>;
  mlflow_ui: string | null;
}

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
