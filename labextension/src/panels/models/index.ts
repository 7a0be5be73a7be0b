import { ILabShell } from '@jupyterlab/application';

import { LabModel } from '../../model';
import { IPanelServiceActions, ModelsPanel, OpenModel } from './ModelsPanel';
import { createModelView, ModelPage } from './ModelView';
import { IModelActions } from './VersionDetail';
import { modelWidgetId } from './format';

export type { IModelActions } from './VersionDetail';
export type { IPanelServiceActions, OpenModel } from './ModelsPanel';

/** The sidebar's Models & Services panel; a click opens the model's page. */
export function createModelsPanel(
  model: LabModel,
  open: OpenModel,
  services: IPanelServiceActions
): ModelsPanel {
  return new ModelsPanel(model, open, services);
}

/** Opens (or shows) a model's page in the main area, at a version if one is given. */
export function modelOpener(
  shell: ILabShell,
  actions: IModelActions
): (project: string, name: string, version?: number | null) => void {
  return (project, name, version = null) => {
    const id = modelWidgetId(project, name);
    for (const widget of shell.widgets('main')) {
      if (widget.id === id) {
        const content = (widget as { content?: unknown }).content;
        if (content instanceof ModelPage) {
          content.showVersion(version);
        }
        shell.activateById(id);
        return;
      }
    }
    shell.add(createModelView(project, name, version, actions), 'main');
    shell.activateById(id);
  };
}
