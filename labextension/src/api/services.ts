import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  apiUrl,
  downloadFile,
  jsonBody,
  MLLabApiError,
  requestAPI
} from './request';

import type { components } from './schema';

type S = components['schemas'];

/**
 * Model services (CONTRACT C3): a model version served by its own process on
 * 127.0.0.1, supervised by the server extension and reached through its proxy route.
 */
export type IService = S['Service'];
export type ServiceStatus = IService['status'];
export type IDeploy = S['ServiceCreate'];
/** A frame as MLflow's `dataframe_split` has it (the service's input example). */
export type IFrameSplit = S['ServiceExample'];
/** The service's own /mllab/stats (CONTRACT C1), zeros when it is stopped. */
export type IServiceStats = S['ServiceStats'];
/** One second of a service's traffic. */
export type IStatsPoint = S['StatsPoint'];
export type IServiceLog = S['ServiceLog'];

/** The statuses in which the service's process is meant to be up. */
export const LIVE: ServiceStatus[] = ['starting', 'running', 'restarting'];

const service = (name: string) => ['services', name];

export async function listServices(project?: string): Promise<IService[]> {
  const data = await requestAPI<S['ServiceList']>(
    ['services'],
    {},
    project ? { project } : {}
  );
  return data.services;
}

export function deployService(body: IDeploy): Promise<IService> {
  return requestAPI<IService>(['services'], jsonBody('POST', body));
}

export function getService(name: string): Promise<IService> {
  return requestAPI<IService>(service(name));
}

export async function removeService(name: string): Promise<void> {
  await requestAPI<void>(service(name), { method: 'DELETE' });
}

export type ServiceAction = 'stop' | 'start' | 'restart';

export function serviceAction(
  name: string,
  action: ServiceAction
): Promise<IService> {
  return requestAPI<IService>([...service(name), action], { method: 'POST' });
}

/** Serve another model (a version or an alias of it): the new process takes over when healthy. */
export function redeployService(
  name: string,
  model: string
): Promise<IService> {
  return requestAPI<IService>(
    [...service(name), 'redeploy'],
    jsonBody('POST', { model } satisfies S['ServiceRedeploy'])
  );
}

export function serviceLog(name: string, offset: number): Promise<IServiceLog> {
  return requestAPI<IServiceLog>(
    [...service(name), 'log'],
    {},
    { offset: String(offset) }
  );
}

export function serviceMetrics(name: string): Promise<IServiceStats> {
  return requestAPI<IServiceStats>([...service(name), 'metrics']);
}

/** The absolute URL of a path of the service through the lab's proxy (e.g. "docs/"). */
export function proxyUrl(svc: IService, path = ''): string {
  const { baseUrl } = ServerConnection.makeSettings();
  return URLExt.join(baseUrl, svc.proxy_url, path);
}

/** A prediction's answer as the Try it form shows it. */
// eslint-disable-next-line no-restricted-syntax -- the browser's view of a service's answer, not a lab API shape
export interface IPrediction {
  status: number;
  ok: boolean;
  /** The parsed JSON body (or the text of a body that is not JSON). */
  body: unknown;
  /** Round trip in the browser, through the lab's proxy. */
  ms: number;
  /** The lineage headers: the model version and the run that made it. */
  model: string | null;
  run: string | null;
}

/**
 * POST a body to the service's `/invocations` through the lab's proxy (no service
 * token needed there) and keep what the service says about itself in its headers.
 */
export async function predict(
  svc: IService,
  body: unknown
): Promise<IPrediction> {
  const settings = ServerConnection.makeSettings();
  const started = performance.now();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      proxyUrl(svc, 'invocations'),
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
      },
      settings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  const ms = performance.now() - started;
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // a body that is not JSON is shown as it came
  }
  if (response.status === 403 || response.status === 404) {
    const data = parsed as Partial<S['Error']> | null;
    if (data && typeof data === 'object' && data.reason) {
      // the lab's proxy refused (no such service, not allowed): not the model's answer
      throw new MLLabApiError(response.status, data.message ?? '', data.reason);
    }
  }
  return {
    status: response.status,
    ok: response.ok,
    body: parsed,
    ms,
    model: response.headers.get('X-MLLab-Model'),
    run: response.headers.get('X-MLLab-Run')
  };
}

/**
 * The production hand-off of a service's model as a zip (the bundle, requirements, a
 * Dockerfile, KServe and Kubernetes manifests, a README), handed to the browser.
 */
export function downloadHandoff(name: string): Promise<void> {
  return downloadFile(
    apiUrl('services', name, 'handoff'),
    `${name}-handoff.zip`
  );
}

/** The same for a model version (no service needed). */
export function downloadVersionHandoff(
  project: string,
  model: string,
  version: number
): Promise<void> {
  return downloadFile(
    apiUrl(
      'projects',
      project,
      'models',
      model,
      'versions',
      String(version),
      'handoff'
    ),
    `${model}-v${version}-handoff.zip`
  );
}
