import { jsonBody, requestAPI } from './request';

/** Tracked notebook runs: the shapes of docs/jobs-api.md. */
export type JobStatus =
  'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

export interface IParameter {
  name: string;
  type: 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict' | 'None';
  default: unknown;
  default_source: string;
  help: string;
}

export interface INotebookParameters {
  path: string;
  kernel: string;
  has_parameters_cell: boolean;
  parameters: IParameter[];
}

export interface IProgress {
  cells_done: number;
  cells_total: number | null;
  current_cell: number | null;
  current_source: string | null;
  elapsed: number | null;
  eta: number | null;
}

export interface IUsage {
  cpu_percent: number;
  rss_bytes: number;
  gpu_memory_bytes: number;
}

export interface IJob {
  id: string;
  kind: 'run' | 'sweep';
  parent_id: string | null;
  project: string;
  notebook: string;
  kernel: string;
  status: JobStatus;
  parameters: Record<string, unknown>;
  search: { kind: string; trials?: number; seed?: number } | null;
  tags: Record<string, string>;
  datasets: string[];
  gpus: number;
  timeout: number | null;
  created: number;
  started: number | null;
  finished: number | null;
  duration: number | null;
  error: { message: string; reason: string } | null;
  mlflow_run_id: string | null;
  queue_position: number | null;
  progress: IProgress | null;
  usage: IUsage | null;
  summary: {
    peak_rss_bytes: number | null;
    mean_cpu_percent: number | null;
    peak_gpu_memory_bytes: number | null;
  } | null;
  has_output: boolean;
  retry_of: string | null;
  attempt: number;
  counts: Record<JobStatus, number> | null;
  children?: IJob[];
}

export interface ISubmit {
  notebook: string;
  project?: string;
  parameters?: Record<string, unknown>;
  search?: { kind: 'grid' } | { kind: 'random'; trials: number; seed: number };
  kernel?: string;
  timeout?: number;
  tags?: Record<string, string>;
  datasets?: string[];
  gpus?: number;
  idempotency_key?: string;
}

export interface IMetricPoint {
  step: number;
  value: number;
  timestamp: number;
}

export const TERMINAL: JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export function notebookParameters(path: string): Promise<INotebookParameters> {
  return requestAPI(['notebooks', 'parameters'], {}, { path });
}

export function submitJob(body: ISubmit): Promise<IJob> {
  return requestAPI(['jobs'], jsonBody('POST', body));
}

export async function listJobs(
  query: Record<string, string>
): Promise<{ jobs: IJob[]; total: number }> {
  return requestAPI(['jobs'], {}, query);
}

export function getJob(id: string): Promise<IJob> {
  return requestAPI(['jobs', id]);
}

export function cancelJob(id: string): Promise<IJob> {
  return requestAPI(['jobs', id, 'cancel'], { method: 'POST' });
}

export function retryJob(
  id: string,
  parameters?: Record<string, unknown>
): Promise<IJob> {
  return requestAPI(
    ['jobs', id, 'retry'],
    jsonBody('POST', parameters ? { parameters } : {})
  );
}

export function jobLog(
  id: string,
  offset: number
): Promise<{ text: string; offset: number; done: boolean }> {
  return requestAPI(['jobs', id, 'log'], {}, { offset: String(offset) });
}

export function jobOutput(id: string): Promise<any> {
  return requestAPI(['jobs', id, 'output']);
}

export function jobMetrics(
  id: string
): Promise<{ metrics: Record<string, IMetricPoint[]> }> {
  return requestAPI(['jobs', id, 'metrics']);
}
