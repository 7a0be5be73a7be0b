import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  IJob,
  ISubmit,
  ISubmitted,
  notebookParameters,
  retryJob,
  submitJob
} from './api/jobs';
import { RUNS_DRIVE, RunsDrive } from './drive';
import { mllabIcon } from './icons';
import { jobOpener } from './panels/experiments';
import { openCompareView, openRunsView } from './panels/runs';
import { notebookName } from './panels/experiments/format';
import { RunForm } from './panels/experiments/RunForm';
import { ILabModel } from './tokens';

export namespace ExperimentCommands {
  export const run = 'mllab:run-experiment';
  export const toggleParameters = 'mllab:toggle-parameters-cell';
  export const openJob = 'mllab:open-job';
  export const openOutput = 'mllab:open-job-output';
  export const openRuns = 'mllab:open-runs';
  export const compareRuns = 'mllab:compare-runs';
}

/** What this plugin needs of a notebook panel (typed loosely: no notebook package import). */
interface INotebookLike {
  context: { path: string; model: { dirty: boolean }; save(): Promise<void> };
  content: {
    activeCell: {
      model: {
        type: string;
        getMetadata(key: string): unknown;
        setMetadata(key: string, value: unknown): void;
      };
    } | null;
  };
}

function currentNotebook(app: JupyterFrontEnd): INotebookLike | null {
  const widget = app.shell.currentWidget as unknown as INotebookLike | null;
  return widget?.context?.path?.endsWith('.ipynb') && widget.content
    ? widget
    : null;
}

/** Show the form until it is submitted or cancelled; the server's errors keep it open. */
async function runForm(
  first: RunForm,
  title: string,
  submit: (body: ISubmit) => Promise<ISubmitted>
): Promise<ISubmitted | null> {
  const key = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  let form = first;
  for (;;) {
    // Rendered before the dialog opens: a Dialog finds its first focusable element once,
    // when it is attached, to send Tab from its last button back to it; an empty body
    // then (React renders later) kept Tab between Run and Cancel, the fields out of reach.
    MessageLoop.sendMessage(form, Widget.Msg.UpdateRequest);
    await form.renderPromise;
    const result = await showDialog({
      title,
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Run' })]
    });
    if (!result.button.accept) {
      return null;
    }
    const next = form.clone(); // the closed dialog took its body with it
    try {
      const body = form.toSubmission();
      body.idempotency_key = key; // a double submit makes one job
      return await submit(body);
    } catch (e) {
      next.setError((e as Error).message);
      form = next;
    }
  }
}

export const experimentsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mllab:experiments',
  description: 'Run notebooks as tracked experiments; their pages and outputs.',
  autoStart: true,
  requires: [ILabShell, ILabModel],
  optional: [ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    model: ILabModel,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ) => {
    app.serviceManager.contents.addDrive(new RunsDrive());
    const { commands } = app;

    const openOutput = (job: IJob) =>
      void commands.execute('docmanager:open', {
        path: `${RUNS_DRIVE}:${job.id}/${notebookName(job.notebook)}`,
        factory: 'Notebook'
      });
    const rerun = async (job: IJob) => {
      const info = await notebookParameters(job.notebook);
      const form = new RunForm(info, job.parameters ?? {});
      const again = await runForm(
        form,
        `Re-run ${notebookName(job.notebook)}`,
        body => retryJob(job.id, body.parameters)
      );
      if (again) {
        openJob(again.id);
      }
    };
    const openJob = jobOpener(shell, {
      openOutput,
      rerun: j => void rerun(j),
      openModel: (project, name, version) =>
        void commands.execute('mllab:open-model', { project, name, version })
    });

    commands.addCommand(ExperimentCommands.openJob, {
      label: 'Open Run',
      execute: args => openJob(args.id as string)
    });
    commands.addCommand(ExperimentCommands.openOutput, {
      label: 'Open Output Notebook of Run',
      execute: args =>
        openOutput({ id: args.id, notebook: args.notebook } as IJob)
    });

    commands.addCommand(ExperimentCommands.compareRuns, {
      label: 'Compare Runs',
      execute: args => openCompareView(shell, args.ids as string[])
    });
    commands.addCommand(ExperimentCommands.openRuns, {
      label: 'Open Runs Table',
      caption: "The current project's runs: filter, sort, compare, export",
      execute: args =>
        openRunsView(shell, (args.project as string) || model.current, {
          compare: ids => openCompareView(shell, ids),
          openJob
        })
    });

    commands.addCommand(ExperimentCommands.run, {
      label: 'Run as Experiment…',
      caption:
        'Run this notebook as a tracked experiment (one run, a grid or a random search)',
      icon: args => (args.toolbar ? mllabIcon : undefined),
      isEnabled: () => !!(browserPath(browser) || currentNotebook(app)),
      execute: async args => {
        const nb = args.path ? null : currentNotebook(app);
        const path =
          (args.path as string) || nb?.context.path || browserPath(browser);
        if (!path) {
          return;
        }
        if (nb?.context.model.dirty) {
          await nb.context.save(); // the run uses what is on disk
        }
        let info;
        try {
          info = await notebookParameters(path);
        } catch (e) {
          Notification.error(`Cannot run ${path}: ${(e as Error).message}`);
          return;
        }
        const form = new RunForm(info);
        const job = await runForm(
          form,
          `Run ${notebookName(path)} as an experiment`,
          body => submitJob({ ...body, project: model.current })
        );
        if (!job) {
          return;
        }
        for (const warning of job.warnings) {
          Notification.warning(warning, { autoClose: 8000 });
        }
        const runs = job.children?.length ?? 1;
        Notification.success(
          `Queued ${runs} run${runs > 1 ? 's' : ''} of ${notebookName(path)} in ${model.current}`,
          { autoClose: 3000 }
        );
        if (job.kind === 'run') {
          openJob(job.id);
        }
        shell.activateById('jp-mllab-sidebar');
      }
    });

    commands.addCommand(ExperimentCommands.toggleParameters, {
      label: 'Mark as Parameters Cell',
      caption:
        'Tag this cell "parameters": runs as experiments vary the values it sets',
      icon: args => (args.toolbar ? mllabIcon : undefined),
      isToggled: () => {
        const cell = currentNotebook(app)?.content.activeCell;
        const tags = (cell?.model.getMetadata('tags') as string[]) ?? [];
        return tags.includes('parameters');
      },
      isEnabled: () =>
        currentNotebook(app)?.content.activeCell?.model.type === 'code',
      execute: () => {
        const cell = currentNotebook(app)?.content.activeCell;
        if (!cell) {
          return;
        }
        const tags = (
          (cell.model.getMetadata('tags') as string[]) ?? []
        ).slice();
        const at = tags.indexOf('parameters');
        if (at >= 0) {
          tags.splice(at, 1);
        } else {
          tags.push('parameters');
        }
        cell.model.setMetadata('tags', tags);
        commands.notifyCommandChanged(ExperimentCommands.toggleParameters);
      }
    });

    for (const command of [
      ExperimentCommands.run,
      ExperimentCommands.toggleParameters,
      ExperimentCommands.openRuns
    ]) {
      palette?.addItem({ command, category: 'ML Lab' });
    }
  }
};

function browserPath(browser: IDefaultFileBrowser | null): string | null {
  if (!browser) {
    return null;
  }
  const item = browser.selectedItems().next();
  if (item.done || !item.value.path.endsWith('.ipynb')) {
    return null;
  }
  return item.value.path;
}
