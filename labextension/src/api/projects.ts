import { jsonBody, requestAPI } from './request';
import type { components } from './schema';

type S = components['schemas'];

/** The projects API's shapes (docs/openapi.json). */
export type IProjectCounts = S['ProjectCounts'];
export type IProject = S['Project'];
export type IProjectList = S['ProjectList'];

export function listProjects(): Promise<IProjectList> {
  return requestAPI<IProjectList>(['projects']);
}

export function createProject(
  name: string,
  description = ''
): Promise<IProject> {
  const body: S['ProjectCreate'] = { name, description };
  return requestAPI<IProject>(['projects'], jsonBody('POST', body));
}

export function updateProject(
  name: string,
  changes: S['ProjectUpdate']
): Promise<IProject> {
  return requestAPI<IProject>(['projects', name], jsonBody('PATCH', changes));
}

export async function deleteProject(
  name: string,
  force = false
): Promise<void> {
  await requestAPI<void>(
    ['projects', name],
    { method: 'DELETE' },
    { force: String(force) }
  );
}

export function setCurrentProject(name: string): Promise<S['CurrentProject']> {
  const body: S['CurrentProjectSet'] = { name };
  return requestAPI(['current-project'], jsonBody('PUT', body));
}
