import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createExperimentsPanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    project =>
      `Runs of ${project} will appear here: run a notebook as a tracked experiment ` +
      '(one run or a parameter grid), follow the queue, progress and metric curves, ' +
      'and compare runs.'
  );
  panel.id = 'jp-mllab-experiments';
  panel.title.label = 'Experiments';
  return panel;
}
