import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';

import { registerCommands } from './commands';
import { experimentsPlugin } from './experiments';
import { hardwareStatusPlugin } from './hardware';
import { fileBrowserPlugin } from './filebrowser';
import { LabModel } from './model';
import { modelsPlugin } from './models';
import { createSidebar } from './sidebar';
import { ILabModel } from './tokens';

const PLUGIN_ID = 'jupyter-mllab:plugin';

/** The ML Lab sidebar: project picker and the four panels. */
const plugin: JupyterFrontEndPlugin<ILabModel> = {
  id: PLUGIN_ID,
  provides: ILabModel,
  description:
    'An ML lab inside JupyterLab: projects, datasets, experiments, models.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settings: ISettingRegistry | null,
    state: IStateDB | null
  ) => {
    const model = new LabModel(state);
    const sidebar = createSidebar(model, app.commands, shell);
    shell.add(sidebar, 'left', { rank: 150 });
    restorer?.add(sidebar, sidebar.id);
    registerCommands(app, model, sidebar, palette);
    void app.restored.then(() => model.poll.start());
    settings
      ?.load(PLUGIN_ID)
      .then(loaded => {
        const apply = () =>
          model.setInterval(loaded.get('refreshInterval').composite as number);
        apply();
        loaded.changed.connect(apply);
      })
      .catch(reason =>
        console.warn('jupyter-mllab: settings not loaded', reason)
      );
    return model;
  }
};

export default [
  plugin,
  fileBrowserPlugin,
  experimentsPlugin,
  hardwareStatusPlugin,
  modelsPlugin
];
