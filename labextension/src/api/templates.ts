import { jsonBody, requestAPI } from './request';
import type { components } from './schema';

type S = components['schemas'];

/** The templates API's shapes (docs/openapi.json). */
export type ITemplate = S['NotebookTemplate'];
export type ITemplateCreated = S['TemplateCreated'];

/** The templates, each with the keys of `project`'s datasets that fit it. */
export async function listTemplates(project?: string): Promise<ITemplate[]> {
  const data = await requestAPI<S['TemplateList']>(
    ['templates'],
    {},
    project ? { project } : {}
  );
  return data.templates;
}

/**
 * A new notebook from template `id` in `directory` (a contents path, '' = the root).
 * `dataset` left out: the project's newest fitting version; null: none.
 */
export function newFromTemplate(
  id: string,
  directory: string,
  project: string,
  dataset?: string | null
): Promise<ITemplateCreated> {
  const body: S['TemplateCreate'] = { directory, project };
  if (dataset !== undefined) {
    body.dataset = dataset;
  }
  return requestAPI<ITemplateCreated>(
    ['templates', id],
    jsonBody('POST', body)
  );
}
