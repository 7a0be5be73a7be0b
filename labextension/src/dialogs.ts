import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IServerInfo } from './api/info';

export interface IProjectForm {
  name: string;
  description: string;
}

/** The body of the project dialog: a name, a description, and the server's last word. */
class ProjectFormBody
  extends Widget
  implements Dialog.IBodyWidget<IProjectForm>
{
  constructor(initial: IProjectForm, error: string) {
    super({ node: document.createElement('div') });
    this.addClass('jp-mllab-form');
    const name = document.createElement('input');
    name.className = 'jp-mod-styled jp-mllab-form-name';
    name.placeholder = 'name, e.g. wine-quality';
    name.value = initial.name;
    name.setAttribute('aria-label', 'Project name');
    const description = document.createElement('textarea');
    description.className = 'jp-mod-styled jp-mllab-form-description';
    description.placeholder = 'what this project is for (optional)';
    description.value = initial.description;
    description.rows = 3;
    description.setAttribute('aria-label', 'Project description');
    this.node.append(label('Name', name), label('Description', description));
    if (error) {
      const message = document.createElement('div');
      message.className = 'jp-mllab-error jp-mllab-form-error';
      message.setAttribute('role', 'alert');
      message.textContent = error;
      this.node.append(message);
    }
    const hint = document.createElement('div');
    hint.className = 'jp-mllab-form-hint';
    hint.textContent =
      "Letters, digits, '-', '_' and '.', starting with a letter or a digit; at most 64.";
    this.node.append(hint);
    this._name = name;
    this._description = description;
  }

  getValue(): IProjectForm {
    return {
      name: this._name.value.trim(),
      description: this._description.value
    };
  }

  protected onAfterAttach(): void {
    this._name.focus();
    this._name.select();
  }

  private _name: HTMLInputElement;
  private _description: HTMLTextAreaElement;
}

function label(text: string, control: HTMLElement): HTMLElement {
  const node = document.createElement('label');
  node.className = 'jp-mllab-form-field';
  const span = document.createElement('span');
  span.textContent = text;
  node.append(span, control);
  return node;
}

/**
 * Ask for a project's name and description until ``submit`` accepts them, showing
 * the server's message (a 400 or 409) inside the dialog. Resolves to null on cancel.
 */
export async function projectDialog<T>(
  title: string,
  accept: string,
  initial: IProjectForm,
  submit: (form: IProjectForm) => Promise<T>
): Promise<T | null> {
  let form = initial;
  let error = '';
  for (;;) {
    const result = await showDialog({
      title,
      body: new ProjectFormBody(form, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })],
      focusNodeSelector: 'input'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    form = result.value;
    try {
      return await submit(form);
    } catch (e) {
      error = (e as Error).message;
    }
  }
}

/** The server's info as a readable table. */
export function infoBody(info: IServerInfo): Widget {
  const table = document.createElement('table');
  table.className = 'jp-mllab-info-table';
  const rows: [string, string][] = [
    ['Version', info.version],
    ['Home', info.home],
    ['Tracking URI', info.tracking_uri],
    ['Artifacts', info.artifact_root],
    ['Executor', info.executor],
    ['Runs at once', String(info.max_concurrent_runs)],
    [
      'GPUs',
      info.gpu.available
        ? `${info.gpu.count}: ${info.gpu.names.join(', ')}`
        : 'none visible'
    ],
    ['Ready', info.ready ? 'yes' : 'setting up']
  ];
  if (info.executor === 'dask') {
    rows.push(['Dask scheduler', info.dask_scheduler_address || '(not set)']);
  }
  for (const [key, value] of rows) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = key;
    const td = tr.insertCell();
    td.textContent = value;
    tr.prepend(th);
  }
  return new Widget({ node: table });
}
