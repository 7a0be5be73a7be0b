import { ILabShell } from '@jupyterlab/application';
import { Widget } from '@lumino/widgets';

import { createCompareView } from './CompareView';
import { createRunsView, IRunsActions } from './RunsView';

function show(shell: ILabShell, id: string, make: () => Widget): void {
  for (const widget of shell.widgets('main')) {
    if (widget.id === id) {
      shell.activateById(id);
      return;
    }
  }
  const widget = make();
  shell.add(widget, 'main');
  shell.activateById(widget.id);
}

/** Opens (or shows) a project's runs table in the main area. */
export function openRunsView(
  shell: ILabShell,
  project: string,
  actions: IRunsActions
): void {
  show(shell, `jp-mllab-runs-${project}`, () =>
    createRunsView(project, actions)
  );
}

/** Opens a comparison of runs in the main area. */
export function openCompareView(shell: ILabShell, ids: string[]): void {
  show(shell, `jp-mllab-compare-${ids.map(i => i.slice(0, 6)).join('-')}`, () =>
    createCompareView(ids)
  );
}
