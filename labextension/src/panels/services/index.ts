import { ILabShell } from '@jupyterlab/application';

import { IModelActions } from '../models/VersionDetail';
import { IServiceActions } from './actions';
import { serviceWidgetId } from './format';
import { createServiceView } from './ServicePage';

export type { IServiceActions } from './actions';

/** Opens (or shows) a service's page in the main area. */
export function serviceOpener(
  shell: ILabShell,
  actions: IServiceActions,
  modelActions: IModelActions
): (name: string) => void {
  return name => {
    const id = serviceWidgetId(name);
    for (const widget of shell.widgets('main')) {
      if (widget.id === id) {
        shell.activateById(id);
        return;
      }
    }
    shell.add(createServiceView(name, actions, modelActions), 'main');
    shell.activateById(id);
  };
}
