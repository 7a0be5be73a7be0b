import { apiUrl, downloadFile, jsonBody, requestAPI } from './request';
import type { components } from './schema';

type S = components['schemas'];

/** The models API's shapes (CONTRACT C5). */
export type IRegisteredModel = S['RegisteredModel'];
export type IModelVersion = S['ModelVersion'];
export type IModelVersionDetail = S['ModelVersionDetail'];
export type ILineage = S['Lineage'];
export type IRunModels = S['RunModels'];
export type IDatasetUsage = S['DatasetUsage'];
export type IModelRegister = S['RegisterFromRun'];
export type IModelVersionUpdate = S['VersionPatch'];
export type IColumnSpec = S['ColumnSpec'];

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
  const data = await requestAPI<S['RegisteredModelList']>(
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
export function downloadBundle(
  project: string,
  name: string,
  v: number
): Promise<void> {
  return downloadFile(bundleUrl(project, name, v), `${name}-v${v}.mlbundle`);
}
