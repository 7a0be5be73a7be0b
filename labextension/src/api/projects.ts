import { jsonBody, requestAPI } from './request';

export interface IProjectCounts {
  datasets: number;
  runs: number;
  models: number;
  services: number;
}

export interface IProject {
  name: string;
  description: string;
  created: string;
  updated: string;
  experiment_id: string | null;
  counts: IProjectCounts;
}

export interface IProjectList {
  projects: IProject[];
  current: string;
}

export function listProjects(): Promise<IProjectList> {
  return requestAPI<IProjectList>(['projects']);
}

export function createProject(
  name: string,
  description = ''
): Promise<IProject> {
  return requestAPI<IProject>(
    ['projects'],
    jsonBody('POST', { name, description })
  );
}

export function updateProject(
  name: string,
  changes: { name?: string; description?: string }
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

export function setCurrentProject(name: string): Promise<{ name: string }> {
  return requestAPI<{ name: string }>(
    ['current-project'],
    jsonBody('PUT', { name })
  );
}
