import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { importPath } from './api/datasets';
import { datasetName } from './panels/datasets/format';
import { ILabModel } from './tokens';

export const UPLOAD_AS_DATASET = 'mllab:upload-as-dataset';

/** "Upload as dataset" in the file browser's context menu. */
export const fileBrowserPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mllab:file-browser',
  description: 'Adds "Upload as dataset" to the file browser.',
  autoStart: true,
  requires: [IDefaultFileBrowser, ILabModel],
  activate: (
    app: JupyterFrontEnd,
    browser: IDefaultFileBrowser,
    model: ILabModel
  ) => {
    app.commands.addCommand(UPLOAD_AS_DATASET, {
      label: 'Upload as Dataset',
      caption:
        'Add the selected files or folders as datasets of the current ML Lab project',
      isVisible: () => !browser.selectedItems().next().done,
      execute: async () => {
        for (const item of Array.from(browser.selectedItems())) {
          try {
            const version = await importPath(
              model.current,
              item.path,
              datasetName(item.name)
            );
            Notification.success(`Added ${version.key}`, { autoClose: 3000 });
          } catch (e) {
            await showErrorMessage(
              `Cannot add ${item.name} as a dataset`,
              e as Error
            );
          }
        }
        await model.refresh();
      }
    });
  }
};
