import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';

import { ITemplate, listTemplates, newFromTemplate } from '../api/templates';
import { ILabModel } from '../tokens';
import {
  createdMessage,
  targetFolder,
  templateKind,
  templateLabel
} from './format';
import { templateIcons } from './icons';

export const NEW_FROM_TEMPLATE = 'mllab:new-from-template';
const CATEGORY = 'ML Lab';

/**
 * "ML Lab" cards in the launcher and palette commands: a new notebook from each
 * template in the current folder, the current project's fitting dataset filled in.
 */
export const templatesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mllab:templates',
  description: 'New notebooks from the ML Lab templates: launcher and palette.',
  autoStart: true,
  requires: [ILabModel],
  optional: [ILauncher, ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    model: ILabModel,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ) => {
    const { commands } = app;
    const templates = new Map<string, ITemplate>();
    const of = (args: { id?: unknown }) => templates.get(String(args.id));

    commands.addCommand(NEW_FROM_TEMPLATE, {
      label: args => templateLabel(of(args), !!args.isLauncher),
      caption: args =>
        of(args)?.description ?? 'A new notebook from an ML Lab template',
      icon: args => {
        const template = of(args);
        return template
          ? templateIcons[templateKind(template.category)]
          : undefined;
      },
      execute: async args => {
        const template = of(args);
        const directory = targetFolder(args.cwd, browser?.model.path);
        const project = model.current;
        try {
          const created = await newFromTemplate(
            String(args.id),
            directory,
            project
          );
          await commands.execute('docmanager:open', { path: created.path });
          Notification.success(
            createdMessage(template, created.path, created.dataset, project),
            { autoClose: 6000 }
          );
        } catch (e) {
          await showErrorMessage('Cannot create the notebook', e as Error);
        }
      }
    });

    void listTemplates()
      .then(list => {
        for (const template of list) {
          templates.set(template.id, template);
          launcher?.add({
            command: NEW_FROM_TEMPLATE,
            args: { id: template.id, isLauncher: true },
            category: CATEGORY,
            rank: template.order
          });
          palette?.addItem({
            command: NEW_FROM_TEMPLATE,
            args: { id: template.id },
            category: CATEGORY
          });
        }
        commands.notifyCommandChanged(NEW_FROM_TEMPLATE);
      })
      .catch(reason =>
        console.warn('jupyter-mllab: no templates for the launcher', reason)
      );
  }
};
