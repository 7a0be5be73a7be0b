import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { Kernel } from '@jupyterlab/services';
import { SidePanel } from '@jupyterlab/ui-components';
import { AccordionPanel } from '@lumino/widgets';

import { listVersions } from './api/datasets';
import { deployService } from './api/services';
import { exportDialog, IExportedModel, modelVariables } from './export';
import { modelIcon } from './icons';
import { datasetOpener } from './panels/datasets';
import { IModelActions, modelOpener } from './panels/models';
import { serviceOpener } from './panels/services';
import { ILabModel } from './tokens';

export namespace ModelCommands {
  export const openModel = 'mllab:open-model';
  export const exportModel = 'mllab:export-model';
  export const openDataset = 'mllab:open-dataset';
  export const openService = 'mllab:open-service';
  export const deployModel = 'mllab:deploy-model';
}

/** What the export needs of a notebook panel (typed loosely: no notebook package import). */
interface INotebookLike {
  context: { path: string };
  sessionContext: {
    ready: Promise<void>;
    session: { kernel: Kernel.IKernelConnection | null } | null;
  };
}

function currentNotebook(app: JupyterFrontEnd): INotebookLike | null {
  const widget = app.shell.currentWidget as unknown as INotebookLike | null;
  return widget?.context?.path?.endsWith('.ipynb') && widget.sessionContext
    ? widget
    : null;
}

/** Show the ML Lab sidebar with its Models & Services panel expanded. */
function showModelsPanel(shell: ILabShell): void {
  shell.activateById('jp-mllab-sidebar');
  for (const widget of shell.widgets('left')) {
    if (widget.id === 'jp-mllab-sidebar' && widget instanceof SidePanel) {
      const index = widget.widgets.findIndex(w => w.id === 'jp-mllab-models');
      const accordion = widget.content as AccordionPanel;
      if (index >= 0) {
        accordion.expand(index); // a no-op when it is expanded
      }
    }
  }
}

export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mllab:models',
  description:
    'Models: their pages, export from a notebook, the run and dataset links.',
  autoStart: true,
  requires: [ILabShell, ILabModel],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    model: ILabModel,
    palette: ICommandPalette | null
  ) => {
    const { commands } = app;
    const openJob = (id: string) =>
      void commands.execute('mllab:open-job', { id });
    const modelActions: IModelActions = {
      openJob,
      openJobOutput: (id, notebook) =>
        void commands.execute('mllab:open-job-output', { id, notebook }),
      openNotebook: path =>
        void commands.execute('docmanager:open', { path, factory: 'Notebook' }),
      openDataset: (project, name, version) =>
        void commands.execute(ModelCommands.openDataset, {
          project,
          name,
          version
        }),
      changed: () => void model.refresh(),
      deploy: (project, spec) =>
        void commands.execute(ModelCommands.deployModel, {
          project,
          model: spec
        })
    };
    const openModel = modelOpener(shell, modelActions);
    const openService = serviceOpener(
      shell,
      {
        openService: name =>
          void commands.execute(ModelCommands.openService, { name }),
        openModel: (project, name, version) =>
          openModel(project, name, version ?? null),
        changed: () => void model.refresh()
      },
      modelActions
    );
    const openDataset = datasetOpener(shell, {
      openJob,
      openModel: (project, name, version) => openModel(project, name, version)
    });

    commands.addCommand(ModelCommands.openModel, {
      label: args =>
        args.name ? `Open Model ${args.project}/${args.name}` : 'Open Model',
      execute: args =>
        openModel(
          (args.project as string) || model.current,
          args.name as string,
          (args.version as number | undefined) ?? null
        )
    });

    commands.addCommand(ModelCommands.openService, {
      label: args =>
        args.name ? `Open Service ${args.name}` : 'Open Model Service',
      execute: args => openService(args.name as string)
    });

    commands.addCommand(ModelCommands.deployModel, {
      label: args =>
        args.model ? `Deploy ${args.model}` : 'Deploy Model Version',
      caption:
        'Serve a model version (or the version an alias names) on 127.0.0.1, with a free port and a name from the model',
      execute: async args => {
        const project = (args.project as string) || model.current;
        const spec = args.model as string;
        try {
          const service = await deployService({ project, model: spec });
          void model.refresh(); // the Services section lists it
          showModelsPanel(shell);
          openService(service.name);
          Notification.info(
            `Deploying ${project}/${spec} as service ${service.name}…`,
            { autoClose: 3000 }
          );
          return service;
        } catch (e) {
          await showErrorMessage(
            `Cannot deploy ${project}/${spec}`,
            e as Error
          );
          return null;
        }
      }
    });

    commands.addCommand(ModelCommands.openDataset, {
      label: 'Open Dataset Version',
      execute: async args => {
        const project = args.project as string;
        const name = args.name as string;
        try {
          const versions = await listVersions(project, name);
          const version = versions.find(v => v.version === args.version);
          if (!version) {
            throw new Error(
              `${project}/${name}@${args.version} is no longer there.`
            );
          }
          openDataset(version);
        } catch (e) {
          await showErrorMessage(
            `Cannot open ${project}/${name}@${args.version}`,
            e as Error
          );
        }
      }
    });

    const opened = (exported: IExportedModel) => {
      void model.refresh(); // the Models panel lists the new version
      showModelsPanel(shell);
      openModel(exported.project, exported.name, exported.version);
      Notification.success(`Exported ${exported.key}`, { autoClose: 4000 });
    };

    commands.addCommand(ModelCommands.exportModel, {
      label: args => (args.toolbar ? 'Export model' : 'Export Model…'),
      caption:
        "Log a model this notebook's kernel holds to the model registry, as a new version",
      icon: args => (args.toolbar ? modelIcon : undefined),
      // a toolbar's button is in a notebook: it stays live whatever has the focus
      isEnabled: args => !!args.toolbar || !!currentNotebook(app),
      execute: async () => {
        const nb = currentNotebook(app);
        if (!nb) {
          await showErrorMessage(
            'Export model',
            'Select the notebook whose kernel holds the model, then export.'
          );
          return;
        }
        const kernel = nb.sessionContext.session?.kernel ?? null;
        if (!kernel || kernel.status === 'dead') {
          await showErrorMessage(
            'Export model',
            'This notebook has no running kernel. Start it and run the cell that trains the model, then export.'
          );
          return;
        }
        let variables;
        try {
          variables = await modelVariables(kernel);
        } catch (e) {
          await showErrorMessage(
            'Export model: cannot ask the kernel for its models',
            e as Error
          );
          return;
        }
        if (!variables.length) {
          await showErrorMessage(
            'Export model',
            'No variable of this kernel holds a model to export (Keras, scikit-learn, XGBoost, LightGBM, PyTorch or an mlflow.pyfunc.PythonModel). Run the cell that trains it, then export.'
          );
          return;
        }
        const exported = await exportDialog(
          kernel,
          variables,
          model.current,
          opened
        );
        if (exported) {
          opened(exported);
        }
      }
    });

    palette?.addItem({
      command: ModelCommands.exportModel,
      category: 'ML Lab'
    });
  }
};
