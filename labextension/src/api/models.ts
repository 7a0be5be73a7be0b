import { ServerConnection } from '@jupyterlab/services';

import { apiUrl, jsonBody, MLLabApiError, requestAPI } from './request';

// TEMPORARY until docs/openapi.json has the models schemas (the lead replaces these aliases)
// The shapes of CONTRACT C5, keyed by the names the server's schemas give them, so that
// the lead replaces this whole block with `type S = components['schemas']` (and an
// `import type { components } from './schema'`). The names of the wrappers (ModelList,
// ModelVersionList, RunModels, DatasetUsage, ModelRegister, ModelVersionUpdate, AliasSet)
// are guesses: re-point them to whatever names M3's schemas.py gives.
/* eslint-disable no-restricted-syntax -- TEMPORARY: C5's shapes until schema.ts has them */
type ModelVersionShape = {
  name: string;
  project: string;
  version: number;
  key: string;
  aliases: string[];
  tags: { [key: string]: string };
  description: string;
  run_id: string | null;
  source: string;
  status: string;
  flavor: string | null;
  format: string | null;
  created: number;
  created_by: string | null;
};
type Column = { name: string | null; type: string };
type S = {
  RegisteredModel: {
    name: string;
    project: string;
    key: string;
    registered_name: string;
    description: string;
    tags: { [key: string]: string };
    latest_version: number | null;
    aliases: { [alias: string]: number };
    versions_count: number;
    created: number;
    updated: number;
  };
  ModelList: { models: S['RegisteredModel'][] };
  ModelVersion: ModelVersionShape;
  ModelVersionList: { versions: ModelVersionShape[]; total: number };
  Lineage: {
    run: {
      run_id: string;
      experiment_id: string;
      run_name: string;
      status: string;
      job_id: string | null;
    };
    notebook: { path: string; sha256: string } | null;
    git_commit: string | null;
    params: { [key: string]: string };
    metrics: { [key: string]: number | null };
    datasets: {
      key: string;
      sha256: string;
      project: string;
      name: string;
      version: number;
    }[];
    environment: { [tag: string]: string };
  };
  ModelVersionDetail: ModelVersionShape & {
    signature: { inputs: Column[] | null; outputs: Column[] | null };
    input_example: { columns: string[]; data: unknown[][] } | null;
    metrics: { [key: string]: number | null };
    params: { [key: string]: string };
    files: { path: string; size: number }[];
    lineage: S['Lineage'];
  };
  ModelVersionUpdate: {
    description?: string;
    tags?: { [key: string]: string };
    remove_tags?: string[];
  };
  AliasSet: { version: number };
  ModelRegister: {
    run_id: string;
    artifact_path: string;
    name: string;
    alias?: string | null;
    description?: string | null;
  };
  RunModels: {
    logged: { artifact_path: string; flavors: string[] }[];
    registered: ModelVersionShape[];
  };
  DatasetUsage: {
    runs: {
      run_id: string;
      run_name: string;
      experiment_id: string;
      job_id: string | null;
      status: string;
    }[];
    models: ModelVersionShape[];
  };
};
/* eslint-enable no-restricted-syntax */
// end of TEMPORARY

/** The models API's shapes (CONTRACT C5). */
export type IRegisteredModel = S['RegisteredModel'];
export type IModelVersion = S['ModelVersion'];
export type IModelVersionDetail = S['ModelVersionDetail'];
export type ILineage = S['Lineage'];
export type IRunModels = S['RunModels'];
export type IDatasetUsage = S['DatasetUsage'];
export type IModelRegister = S['ModelRegister'];
export type IModelVersionUpdate = S['ModelVersionUpdate'];

const models = (project: string) => ['projects', project, 'models'];
const versionPath = (project: string, name: string, v: number) => [
  ...models(project),
  name,
  'versions',
  String(v)
];

export async function listModels(
  project: string,
  q = ''
): Promise<IRegisteredModel[]> {
  const data = await requestAPI<S['ModelList']>(
    models(project),
    {},
    q ? { q } : {}
  );
  return data.models;
}

export function getModel(
  project: string,
  name: string
): Promise<IRegisteredModel> {
  return requestAPI<IRegisteredModel>([...models(project), name]);
}

export function listModelVersions(
  project: string,
  name: string,
  offset = 0,
  limit = 20
): Promise<S['ModelVersionList']> {
  return requestAPI<S['ModelVersionList']>(
    [...models(project), name, 'versions'],
    {},
    { offset: String(offset), limit: String(limit) }
  );
}

export function getModelVersion(
  project: string,
  name: string,
  v: number
): Promise<IModelVersionDetail> {
  return requestAPI<IModelVersionDetail>(versionPath(project, name, v));
}

export function updateModelVersion(
  project: string,
  name: string,
  v: number,
  body: IModelVersionUpdate
): Promise<IModelVersion> {
  return requestAPI<IModelVersion>(
    versionPath(project, name, v),
    jsonBody('PATCH', body)
  );
}

export async function deleteModelVersion(
  project: string,
  name: string,
  v: number
): Promise<void> {
  await requestAPI<void>(versionPath(project, name, v), { method: 'DELETE' });
}

export function setAlias(
  project: string,
  name: string,
  alias: string,
  version: number
): Promise<IModelVersion> {
  const body: S['AliasSet'] = { version };
  return requestAPI<IModelVersion>(
    [...models(project), name, 'aliases', alias],
    jsonBody('PUT', body)
  );
}

export async function removeAlias(
  project: string,
  name: string,
  alias: string
): Promise<void> {
  await requestAPI<void>([...models(project), name, 'aliases', alias], {
    method: 'DELETE'
  });
}

/** Register an MLflow model a run logged (e.g. by autolog) as a new version. */
export function registerModel(
  project: string,
  body: IModelRegister
): Promise<IModelVersion> {
  return requestAPI<IModelVersion>(models(project), jsonBody('POST', body));
}

/** The MLflow models a run logged, and the versions registered from it. */
export function runModels(runId: string): Promise<IRunModels> {
  return requestAPI<IRunModels>(['runs', runId, 'models']);
}

/** The runs and model versions that used a dataset version. */
export function datasetUsage(
  project: string,
  name: string,
  v: number
): Promise<IDatasetUsage> {
  return requestAPI<IDatasetUsage>([
    'projects',
    project,
    'datasets',
    name,
    'versions',
    String(v),
    'usage'
  ]);
}

export function bundleUrl(project: string, name: string, v: number): string {
  return apiUrl(...versionPath(project, name, v), 'bundle');
}

/**
 * Fetch the version's `.mlbundle` (the server builds it on the first request, which
 * may take a while) and hand it to the browser as a download.
 */
export async function downloadBundle(
  project: string,
  name: string,
  v: number
): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(
    bundleUrl(project, name, v),
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
  a.download = `${name}-v${v}.mlbundle`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
