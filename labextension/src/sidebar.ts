import { ILabShell } from '@jupyterlab/application';
import { SidePanel } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { AccordionPanel } from '@lumino/widgets';

import { mllabIcon } from './icons';
import { LabModel } from './model';
import { createDatasetsPanel } from './panels/datasets';
import { createExperimentsPanel } from './panels/experiments';
import { createHardwarePanel } from './panels/hardware';
import { createModelsPanel } from './panels/models';
import { ProjectPicker } from './panels/projects/ProjectPicker';

/** The sidebar tells the model when it shows, so that polling stops while hidden. */
class MLLabSidebar extends SidePanel {
  constructor(private readonly model: LabModel) {
    super();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.showing = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.showing = false;
  }
}

/** The left-sidebar ML Lab area: the project picker on top, four panels below. */
export function createSidebar(
  model: LabModel,
  commands: CommandRegistry,
  shell: ILabShell
): SidePanel {
  const sidebar = new MLLabSidebar(model);
  sidebar.id = 'jp-mllab-sidebar';
  sidebar.addClass('jp-mllab-sidebar');
  sidebar.title.icon = mllabIcon;
  sidebar.title.caption = 'ML Lab';
  sidebar.header.addWidget(new ProjectPicker(model, commands));
  const openJob = (id: string) => commands.execute('mllab:open-job', { id });
  const openModel = (project: string, name: string, version?: number) =>
    commands.execute('mllab:open-model', { project, name, version });
  for (const panel of [
    createDatasetsPanel(model, shell, { openJob, openModel }),
    createExperimentsPanel(
      model,
      id => commands.execute('mllab:open-job', { id }),
      () => commands.execute('mllab:open-runs')
    ),
    createHardwarePanel(model, id =>
      commands.execute('mllab:open-job', { id })
    ),
    createModelsPanel(model, openModel, {
      openModel,
      openService: name => commands.execute('mllab:open-service', { name }),
      deploy: (project, spec) =>
        commands.execute('mllab:deploy-model', { project, model: spec }),
      changed: () => void model.refresh()
    })
  ]) {
    // a section scrolls: it takes the focus, so that the keyboard can scroll it
    // (the accordion names it a region, labelled by its title)
    panel.node.tabIndex = 0;
    sidebar.addWidget(panel);
  }
  // Each panel gets an equal share of the room to begin with.
  (sidebar.content as AccordionPanel).setRelativeSizes([2, 2, 2, 2]);
  return sidebar;
}
