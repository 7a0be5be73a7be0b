import { apiUrl, downloadFile, requestAPI } from './request';
import { historyQuery, IHistoryQuery } from './jobs';
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

export function compareRuns(
  ids: string[],
  history: IHistoryQuery = {}
): Promise<ICompare> {
  return requestAPI<ICompare>(
    ['runs', 'compare'],
    {},
    { ids: ids.join(','), ...historyQuery(history) }
  );
}

/** Every run the query matches, as a CSV file the browser saves. */
export function downloadRunsCsv(q: IRunsQuery): Promise<void> {
  const query = new URLSearchParams({
    ...asQuery({ ...q, offset: undefined, limit: undefined }),
    format: 'csv'
  });
  return downloadFile(`${apiUrl('runs')}?${query}`, `${q.project}-runs.csv`);
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
