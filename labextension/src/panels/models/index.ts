import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createModelsPanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    project =>
      `Models from ${project}'s runs and their REST services will appear here.`
  );
  panel.id = 'jp-mllab-models';
  panel.title.label = 'Models & Services';
  return panel;
}
