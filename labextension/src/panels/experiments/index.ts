import { ILabShell } from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

import { LabModel } from '../../model';
import { ExperimentsPanel } from './ExperimentsPanel';
import { createJobView, IJobActions } from './JobView';
import { tensorBoardOpener } from './TensorBoard';

/** Opens (or shows) a run's page in the main area. */
export function jobOpener(
  shell: ILabShell,
  actions: Omit<IJobActions, 'openJob' | 'openTensorBoard'>
): (id: string) => void {
  const openTensorBoard = tensorBoardOpener(shell);
  const open = (id: string) => {
    const widgetId = `jp-mllab-job-${id}`;
    for (const widget of shell.widgets('main')) {
      if (widget.id === widgetId) {
        shell.activateById(widgetId);
        return;
      }
    }
    const view: Widget = createJobView(id, {
      ...actions,
      openJob: open,
      openTensorBoard
    });
    shell.add(view, 'main');
    shell.activateById(widgetId);
  };
  return open;
}

export function createExperimentsPanel(
  model: LabModel,
  open: (id: string) => void,
  openRuns: () => void
): ExperimentsPanel {
  return new ExperimentsPanel(model, open, openRuns);
}
