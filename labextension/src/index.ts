import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';

import { followThemes } from './charts/theme';
import { registerCommands } from './commands';
import { experimentsPlugin } from './experiments';
import { hardwareStatusPlugin } from './hardware';
import { fileBrowserPlugin } from './filebrowser';
import { LabModel } from './model';
import { modelsPlugin } from './models';
import { PLUGIN_ID, settings as labSettings } from './settings';
import { createSidebar } from './sidebar';
import { templatesPlugin } from './templates';
import { ILabModel } from './tokens';

/** The ML Lab sidebar: project picker and the four panels. */
const plugin: JupyterFrontEndPlugin<ILabModel> = {
  id: PLUGIN_ID,
  provides: ILabModel,
  description:
    'An ML lab inside JupyterLab: projects, datasets, experiments, models.',
  autoStart: true,
  requires: [ILabShell],
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ISettingRegistry,
    IStateDB,
    IThemeManager
  ],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settings: ISettingRegistry | null,
    state: IStateDB | null,
    themes: IThemeManager | null
  ) => {
    const model = new LabModel(state);
    const sidebar = createSidebar(model, app.commands, shell);
    shell.add(sidebar, 'left', { rank: 150 });
    restorer?.add(sidebar, sidebar.id);
    registerCommands(app, model, sidebar, palette);
    void app.restored.then(() => model.poll.start());
    if (themes) {
      followThemes(themes);
    }
    const apply = () => model.setInterval(labSettings.current.refreshInterval);
    labSettings.changed.connect(apply);
    if (settings) {
      labSettings
        .load(settings)
        .catch(reason =>
          console.warn('jupyter-mllab: settings not loaded', reason)
        );
    }
    return model;
  }
};

export default [
  plugin,
  fileBrowserPlugin,
  experimentsPlugin,
  hardwareStatusPlugin,
  modelsPlugin,
  templatesPlugin
];
