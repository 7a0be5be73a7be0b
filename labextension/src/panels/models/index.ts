import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createModelsPanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    project =>
      `Models exported from ${project}'s runs, their registry versions, and the ` +
      'REST services deployed from them will appear here.'
  );
  panel.id = 'jp-mllab-models';
  panel.title.label = 'Models & Services';
  return panel;
}
