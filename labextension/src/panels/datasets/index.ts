import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createDatasetsPanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    project =>
      `Versioned datasets of ${project} will appear here: upload files, folders or ` +
      'archives, preview them and copy their keys.'
  );
  panel.id = 'jp-mllab-datasets';
  panel.title.label = 'Datasets';
  return panel;
}
