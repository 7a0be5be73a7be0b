import { ILabShell } from '@jupyterlab/application';

import { IDatasetVersion } from '../../api/datasets';
import { LabModel } from '../../model';
import { DatasetsPanel } from './DatasetsPanel';
import { createDatasetView } from './DatasetView';
import { IUsedByActions } from './UsedBy';

/** Opens (or shows) a dataset version's page in the main area. */
export function datasetOpener(
  shell: ILabShell,
  usedBy?: IUsedByActions
): (version: IDatasetVersion) => void {
  return (version: IDatasetVersion) => {
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
    shell.add(createDatasetView(version, usedBy), 'main');
    shell.activateById(id);
  };
}

export function createDatasetsPanel(
  model: LabModel,
  shell: ILabShell,
  usedBy?: IUsedByActions
): DatasetsPanel {
  return new DatasetsPanel(model, datasetOpener(shell, usedBy));
}
