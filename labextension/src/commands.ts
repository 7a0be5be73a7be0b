import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { MLLabApiError } from './api/request';
import { infoBody, projectDialog } from './dialogs';
import { LabModel } from './model';

export namespace CommandIDs {
  export const open = 'mllab:open';
  export const createProject = 'mllab:create-project';
  export const switchProject = 'mllab:switch-project';
  export const renameProject = 'mllab:rename-project';
  export const deleteProject = 'mllab:delete-project';
  export const showInfo = 'mllab:show-info';
  export const refresh = 'mllab:refresh';
}

const CATEGORY = 'ML Lab';

async function pickProject(model: LabModel): Promise<string | null> {
  const select = document.createElement('select');
  select.className = 'jp-mod-styled jp-mllab-switch-select';
  for (const p of model.projects) {
    const option = document.createElement('option');
    option.value = option.textContent = p.name;
    option.selected = p.name === model.current;
    select.append(option);
  }
  const result = await showDialog({
    title: 'Switch project',
    body: new Widget({ node: select }),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Switch' })]
  });
  return result.button.accept ? select.value : null;
}

/** What a non-empty project holds, in words, and what "Delete anyway" does. */
function notEmptyText(model: LabModel, name: string): string {
  const counts = model.projects.find(p => p.name === name)?.counts;
  const held = counts
    ? Object.entries(counts)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${n} ${n === 1 ? kind.replace(/s$/, '') : kind}`)
    : [];
  return (
    (held.length
      ? `It holds ${held.join(', ')}. `
      : 'It still holds things. ') +
    '"Delete anyway" removes the project with everything in it; this cannot be undone.'
  );
}

export function registerCommands(
  app: JupyterFrontEnd,
  model: LabModel,
  sidebar: Widget,
  palette: ICommandPalette | null
): void {
  const { commands } = app;

  commands.addCommand(CommandIDs.open, {
    label: 'Open the ML Lab sidebar',
    execute: () => app.shell.activateById(sidebar.id)
  });

  commands.addCommand(CommandIDs.createProject, {
    label: 'New Project…',
    caption: 'Create an ML Lab project and switch to it',
    execute: () =>
      projectDialog(
        'New project',
        'Create',
        { name: '', description: '' },
        form => model.create(form.name, form.description)
      )
  });

  commands.addCommand(CommandIDs.switchProject, {
    label: args =>
      args.name ? `Switch to Project ${args.name}` : 'Switch Project…',
    execute: async args => {
      const name = (args.name as string) || (await pickProject(model));
      if (name && name !== model.current) {
        try {
          await model.switchTo(name);
        } catch (e) {
          await showErrorMessage('Cannot switch project', e as Error);
        }
      }
    }
  });

  commands.addCommand(CommandIDs.renameProject, {
    label: 'Rename Project…',
    isEnabled: () => model.current !== 'default',
    execute: args => {
      const name = (args.name as string) || model.current;
      const project = model.projects.find(p => p.name === name);
      return projectDialog(
        `Rename project ${name}`,
        'Rename',
        { name, description: project?.description ?? '' },
        form => model.rename(name, form.name, form.description)
      );
    }
  });

  commands.addCommand(CommandIDs.deleteProject, {
    label: 'Delete Project…',
    isEnabled: () => model.current !== 'default',
    execute: async args => {
      const name = (args.name as string) || model.current;
      const ok = await showDialog({
        title: `Delete project ${name}?`,
        body: 'The project and its experiment go; this cannot be undone.',
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
      });
      if (!ok.button.accept) {
        return;
      }
      try {
        await model.remove(name);
      } catch (e) {
        if (e instanceof MLLabApiError && e.reason === 'not_empty') {
          const again = await showDialog({
            title: `Project ${name} is not empty`,
            body: notEmptyText(model, name),
            buttons: [
              Dialog.cancelButton(),
              Dialog.warnButton({ label: 'Delete anyway' })
            ]
          });
          if (again.button.accept) {
            await model.remove(name, true);
          }
        } else {
          await showErrorMessage('Cannot delete the project', e as Error);
        }
      }
    }
  });

  commands.addCommand(CommandIDs.showInfo, {
    label: 'About this ML Lab',
    execute: async () => {
      await model.refresh();
      if (!model.info) {
        return showErrorMessage(
          'ML Lab',
          model.error ?? 'No answer from the server'
        );
      }
      return showDialog({
        title: 'ML Lab',
        body: infoBody(model.info),
        buttons: [Dialog.okButton()]
      });
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh ML Lab',
    execute: () => model.refresh()
  });

  if (palette) {
    for (const command of Object.values(CommandIDs)) {
      palette.addItem({ command, category: CATEGORY });
    }
  }
  model.changed.connect(() => commands.notifyCommandChanged());
}
