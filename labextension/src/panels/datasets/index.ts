import { ILabShell } from '@jupyterlab/application';

import { IDatasetVersion } from '../../api/datasets';
import { LabModel } from '../../model';
import { DatasetsPanel } from './DatasetsPanel';
import { createDatasetView } from './DatasetView';

export function createDatasetsPanel(
  model: LabModel,
  shell: ILabShell
): DatasetsPanel {
  const open = (version: IDatasetVersion) => {
    const id = createDatasetView(version).id;
    for (const widget of shell.widgets('main')) {
      if (widget.id === id) {
        shell.activateById(id);
        return;
      }
    }
    // one view for the dataset's latest choice: replace an older version's view
    for (const widget of Array.from(shell.widgets('main'))) {
      if (
        widget.id.startsWith(
          `jp-mllab-dataset-${version.project}-${version.name}-`
        )
      ) {
        widget.close();
      }
    }
    shell.add(createDatasetView(version), 'main');
    shell.activateById(id);
  };
  return new DatasetsPanel(model, open);
}
