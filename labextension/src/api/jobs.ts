import { ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { apiUrl, jsonBody, MLLabApiError, requestAPI } from './request';
import type { components, operations } from './schema';

type S = components['schemas'];

/** Tracked notebook runs: the shapes of docs/openapi.json (generated into ./schema). */
export type IJob = S['Job'];
export type JobStatus = IJob['status'];
export type IParameter = S['Parameter'];
export type INotebookParameters = S['NotebookParameters'];
export type IProgress = S['Progress'];
export type IUsage = S['Usage'];
export type ISubmit = S['JobSubmit'];
/** A submit's or retry's reply: the job and what was accepted unchecked. */
export type ISubmitted = S['JobSubmitted'];
/** A dry run of a submit: how many runs it makes, and the first ones. */
export type IPlan = S['JobPlan'];
export type IPlanRequest = S['JobPlanRequest'];
/** A metric's point; `value` is null for NaN and infinities. */
export type IMetricPoint = S['MetricPoint'];

export const TERMINAL: JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export function notebookParameters(path: string): Promise<INotebookParameters> {
  return requestAPI(['notebooks', 'parameters'], {}, { path });
}

const jobsOwner = {};
/** Emitted when this page queued, cancelled or retried a job: live lists refresh at once. */
export const jobsChanged = new Signal<object, void>(jobsOwner);

async function changing<T>(request: Promise<T>): Promise<T> {
  const result = await request;
  jobsChanged.emit();
  return result;
}

export function submitJob(body: ISubmit): Promise<ISubmitted> {
  return changing(requestAPI(['jobs'], jsonBody('POST', body)));
}

/** What a submit of `body` would queue (checked as the submit checks it; nothing queued). */
export function planJob(body: ISubmit, first = 5): Promise<IPlan> {
  const request: IPlanRequest = { ...body, first };
  return requestAPI(['jobs', 'plan'], jsonBody('POST', request));
}

export async function listJobs(
  query: Record<string, string>
): Promise<S['JobList']> {
  return requestAPI(['jobs'], {}, query);
}

export function getJob(id: string): Promise<IJob> {
  return requestAPI(['jobs', id]);
}

export function cancelJob(id: string): Promise<IJob> {
  return changing(requestAPI(['jobs', id, 'cancel'], { method: 'POST' }));
}

export function retryJob(
  id: string,
  parameters?: S['JobRetry']['parameters']
): Promise<ISubmitted> {
  const body: S['JobRetry'] = parameters ? { parameters } : {};
  return changing(requestAPI(['jobs', id, 'retry'], jsonBody('POST', body)));
}

export function jobLog(id: string, offset: number): Promise<S['JobLog']> {
  return requestAPI(['jobs', id, 'log'], {}, { offset: String(offset) });
}

export function jobOutput(id: string): Promise<any> {
  return requestAPI(['jobs', id, 'output']);
}

/** What part of a run's metric histories to fetch: a point budget (each history thinned
 * to it, first, last and extremes kept), and after_step / since (unix ms) for only the
 * newer points. */
export type IHistoryQuery = NonNullable<
  operations['JobMetrics_get']['parameters']['query']
>;

export function historyQuery(q: IHistoryQuery): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    if (v !== undefined && v !== null) {
      out[k] = String(Math.round(v));
    }
  }
  return out;
}

export function jobMetrics(
  id: string,
  query: IHistoryQuery = {}
): Promise<S['JobMetrics']> {
  return requestAPI(['jobs', id, 'metrics'], {}, historyQuery(query));
}

/** A run's output files (saved as MLflow artifacts, or listed with why not). */
export type IJobOutputs = S['JobOutputs'];
export type IOutputFile = S['OutputFile'];
export type IOutputPromote = S['OutputPromote'];

/** An output's path ("plots/a.png") as URL parts: each segment encoded on its own. */
function outputParts(id: string, path: string): string[] {
  return ['jobs', id, 'outputs', ...path.split('/')];
}

export function jobOutputs(id: string): Promise<IJobOutputs> {
  return requestAPI(['jobs', id, 'outputs']);
}

export function outputPreview(id: string, path: string): Promise<S['Preview']> {
  return requestAPI([...outputParts(id, path), 'preview']);
}

/** The file's URL: a download, or (inline) its bytes to show. */
export function outputUrl(id: string, path: string, inline = false): string {
  return apiUrl(...outputParts(id, path)) + (inline ? '?inline=1' : '');
}

/** The file's bytes (the runs drive opens outputs with them). */
export async function outputBlob(id: string, path: string): Promise<Blob> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(
    outputUrl(id, path, true),
    {},
    settings
  );
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new MLLabApiError(
      response.status,
      data?.message ?? response.statusText,
      data?.reason ?? ''
    );
  }
  return response.blob();
}

export function promoteOutput(
  id: string,
  path: string,
  body: IOutputPromote
): Promise<S['DatasetVersion']> {
  return requestAPI(
    [...outputParts(id, path), 'promote'],
    jsonBody('POST', body)
  );
}
