import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** A dialog body that can show a busy state and the last error, and give its value. */
export abstract class FormBody<T>
  extends Widget
  implements Dialog.IBodyWidget<T>
{
  constructor() {
    super({ node: document.createElement('div') });
    this.addClass('jp-mllab-form');
    this.error = document.createElement('div');
    this.error.className = 'jp-mllab-error jp-mllab-form-error';
    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.status = document.createElement('div');
    this.status.className = 'jp-mllab-form-hint jp-mllab-form-busy';
    this.status.hidden = true;
  }

  abstract getValue(): T;

  setError(message: string): void {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  setBusy(text: string): void {
    this.status.textContent = text;
    this.status.hidden = !text;
    for (const control of Array.from(
      this.node.querySelectorAll('input, select, textarea')
    )) {
      (control as HTMLInputElement).disabled = !!text;
    }
  }

  /** Appends the fields, then the busy line and the error. */
  protected build(...fields: HTMLElement[]): void {
    this.node.append(...fields, this.status, this.error);
  }

  protected readonly error: HTMLDivElement;
  protected readonly status: HTMLDivElement;
}

/**
 * A dialog whose accept button runs an action while the dialog stays open: the button
 * says what is happening ("Exporting…"), the fields are disabled, and an error is shown
 * in the dialog, which stays open for another try. Cancel (or Escape) closes it; an
 * action still going on then ends on its own, and `late` gets its result.
 */
class ActionDialog<T, R> extends Dialog<T> {
  constructor(
    private readonly form: FormBody<T>,
    options: Partial<Dialog.IOptions<T>>,
    private readonly busyLabel: string,
    private readonly action: (value: T) => Promise<R>,
    private readonly late: (result: R) => void
  ) {
    super({ ...options, body: form });
  }

  result: R | null = null;

  resolve(index?: number): void {
    if (this.busy) {
      return;
    }
    const accept = this.node.querySelector(
      '.jp-Dialog-footer .jp-Dialog-button.jp-mod-accept'
    ) as HTMLButtonElement | null;
    const buttons = Array.from(
      this.node.querySelectorAll('.jp-Dialog-footer .jp-Dialog-button')
    );
    const chosen = index === undefined ? accept : buttons[index];
    if (!chosen || chosen !== accept) {
      super.resolve(index);
      return;
    }
    void this.run(index, accept);
  }

  reject(): void {
    this.closed = true;
    super.reject();
  }

  private async run(
    index: number | undefined,
    accept: HTMLButtonElement
  ): Promise<void> {
    let value: T;
    try {
      value = this.form.getValue();
    } catch (e) {
      this.form.setError((e as Error).message);
      return;
    }
    const label = accept.querySelector('.jp-Dialog-buttonLabel') ?? accept;
    const idle = label.textContent;
    this.busy = true;
    accept.disabled = true;
    label.textContent = this.busyLabel;
    this.form.setError('');
    this.form.setBusy(this.busyLabel);
    try {
      const result = await this.action(value);
      if (this.closed) {
        this.late(result);
        return;
      }
      this.result = result;
      this.busy = false;
      super.resolve(index);
    } catch (e) {
      this.busy = false;
      if (this.closed) {
        return;
      }
      accept.disabled = false;
      label.textContent = idle;
      this.form.setBusy('');
      this.form.setError((e as Error).message);
    }
  }

  private busy = false;
  private closed = false;
}

/**
 * Show `form` until `action` succeeds on its value (resolves to the action's result)
 * or the user cancels (resolves to null).
 */
export async function actionDialog<T, R>(options: {
  title: string;
  form: FormBody<T>;
  accept: string;
  busy: string;
  action: (value: T) => Promise<R>;
  late?: (result: R) => void;
}): Promise<R | null> {
  const dialog = new ActionDialog<T, R>(
    options.form,
    {
      title: options.title,
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: options.accept })
      ],
      focusNodeSelector: 'input, select'
    },
    options.busy,
    options.action,
    options.late ?? (() => undefined)
  );
  const result = await dialog.launch();
  return result.button.accept ? dialog.result : null;
}

export function field(
  text: string,
  control: HTMLElement,
  hint = ''
): HTMLElement {
  const node = document.createElement('label');
  node.className = 'jp-mllab-form-field';
  const span = document.createElement('span');
  span.textContent = text;
  node.append(span, control);
  if (hint) {
    const small = document.createElement('span');
    small.className = 'jp-mllab-form-hint';
    small.textContent = hint;
    node.append(small);
  }
  return node;
}

export function textInput(
  className: string,
  label: string,
  value = '',
  placeholder = ''
): HTMLInputElement {
  const input = document.createElement('input');
  input.className = `jp-mod-styled ${className}`;
  input.value = value;
  input.placeholder = placeholder;
  input.setAttribute('aria-label', label);
  return input;
}

export function selectInput(
  className: string,
  label: string,
  options: { value: string; text: string }[],
  selected = ''
): HTMLSelectElement {
  const select = document.createElement('select');
  select.className = `jp-mod-styled ${className}`;
  select.setAttribute('aria-label', label);
  fillSelect(select, options, selected);
  return select;
}

export function fillSelect(
  select: HTMLSelectElement,
  options: { value: string; text: string }[],
  selected = ''
): void {
  select.replaceChildren(
    ...options.map(o => {
      const option = document.createElement('option');
      option.value = o.value;
      option.textContent = o.text;
      option.selected = o.value === selected;
      return option;
    })
  );
}

/** Set alias: an alias name and the version it points to. */
export class AliasForm extends FormBody<{ alias: string; version: number }> {
  constructor(versions: number[], selected: number, alias = '') {
    super();
    this.alias = textInput(
      'jp-mllab-alias-name',
      'Alias',
      alias,
      'e.g. champion, staging'
    );
    this.version = selectInput(
      'jp-mllab-alias-version',
      'Version',
      versions.map(v => ({ value: String(v), text: `v${v}` })),
      String(selected)
    );
    this.build(
      field(
        'Alias',
        this.alias,
        'An alias names one version at a time: setting it on another version moves it.'
      ),
      field('Version', this.version)
    );
  }

  getValue(): { alias: string; version: number } {
    const alias = this.alias.value.trim();
    if (!alias) {
      throw new Error('Give the alias a name.');
    }
    return { alias, version: Number(this.version.value) };
  }

  private alias: HTMLInputElement;
  private version: HTMLSelectElement;
}

/** A version's description. */
export class DescriptionForm extends FormBody<string> {
  constructor(description: string) {
    super();
    this.text = document.createElement('textarea');
    this.text.className = 'jp-mod-styled jp-mllab-description-text';
    this.text.rows = 4;
    this.text.value = description;
    this.text.setAttribute('aria-label', 'Description');
    this.build(field('Description', this.text));
  }

  getValue(): string {
    return this.text.value;
  }

  private text: HTMLTextAreaElement;
}

/** Register model: a name for the registered model and an optional alias. */
export class RegisterForm extends FormBody<{
  name: string;
  alias: string;
  description: string;
}> {
  constructor(artifactPath: string, project: string) {
    super();
    this.name = textInput(
      'jp-mllab-register-name',
      'Model name',
      defaultModelName(artifactPath)
    );
    this.alias = textInput(
      'jp-mllab-register-alias',
      'Alias',
      '',
      'optional, e.g. champion'
    );
    this.description = document.createElement('textarea');
    this.description.className = 'jp-mod-styled jp-mllab-register-description';
    this.description.rows = 2;
    this.description.setAttribute('aria-label', 'Description');
    this.build(
      field(
        'Name',
        this.name,
        `Registered in ${project} as a new version of this model.`
      ),
      field('Alias', this.alias),
      field('Description', this.description)
    );
  }

  getValue(): { name: string; alias: string; description: string } {
    const name = this.name.value.trim();
    if (!name) {
      throw new Error('Give the model a name.');
    }
    return {
      name,
      alias: this.alias.value.trim(),
      description: this.description.value
    };
  }

  private name: HTMLInputElement;
  private alias: HTMLInputElement;
  private description: HTMLTextAreaElement;
}

/** A model name from an artifact path: its last part, in the characters names allow. */
export function defaultModelName(path: string): string {
  const last = path.split('/').filter(Boolean).pop() ?? 'model';
  return last.replace(/[^A-Za-z0-9._-]+/g, '-') || 'model';
}
