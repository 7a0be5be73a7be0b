import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createExperimentsPanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    project =>
      `Tracked notebook runs of ${project} will appear here, with their ` +
      'progress and metrics.'
  );
  panel.id = 'jp-mllab-experiments';
  panel.title.label = 'Experiments';
  return panel;
}
