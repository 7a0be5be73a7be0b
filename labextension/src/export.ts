import { Kernel, KernelMessage } from '@jupyterlab/services';

import {
  actionDialog,
  field,
  fillSelect,
  FormBody,
  selectInput,
  textInput
} from './panels/models/dialogs';

/** A variable of the kernel that holds a model (CONTRACT C6). */
export interface IModelVariable {
  name: string;
  type: string;
  flavor: string;
  formats: string[];
}

/** What `log_model(...).to_json()` gives back (CONTRACT C6). */
export interface IExportedModel {
  key: string;
  version: number;
  name: string;
  project: string;
  run_id: string | null;
  format: string;
}

/** An error the kernel raised: its exception class and message. */
export class KernelError extends Error {
  constructor(
    readonly ename: string,
    readonly evalue: string
  ) {
    super(`${ename}: ${evalue}`);
    this.name = 'KernelError';
  }
}

const LIST_CODE =
  'import json as __j, jupyter_mllab.client.models as __m; ' +
  'print(__j.dumps(__m.model_variables(globals())))';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A Python literal of a string (a JSON string is one), or None. */
function py(value: string | null): string {
  return value ? JSON.stringify(value) : 'None';
}

export function exportCode(
  variable: string,
  options: {
    name: string;
    format: string;
    alias: string;
    description: string;
    sample: string;
  }
): string {
  if (!IDENTIFIER.test(variable)) {
    throw new Error(`${variable} is not a variable name.`);
  }
  return (
    'import json as __j, jupyter_mllab as __ml; ' +
    `print(__j.dumps(__ml.log_model(${variable}, ${py(options.name)}, ` +
    `format=${py(options.format)}, alias=${py(options.alias)}, ` +
    `description=${py(options.description)}, ` +
    // the user's own expression, evaluated in their namespace (as `%mllab export
    // --sample` does); passed as a string so that it cannot change the code around it
    `sample=${options.sample ? `eval(${py(options.sample)})` : 'None'}).to_json()))`
  );
}

/**
 * Run code in the kernel silently (no history, no execution count, nothing in the
 * notebook) and give back what it printed to stdout; an exception raises KernelError.
 */
export async function runSilently(
  kernel: Kernel.IKernelConnection,
  code: string
): Promise<string> {
  const future = kernel.requestExecute({
    code,
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  });
  let stdout = '';
  let error: KernelError | null = null;
  future.onIOPub = msg => {
    if (KernelMessage.isStreamMsg(msg) && msg.content.name === 'stdout') {
      stdout += msg.content.text;
    } else if (KernelMessage.isErrorMsg(msg)) {
      error = new KernelError(msg.content.ename, msg.content.evalue);
    }
  };
  const reply = await future.done;
  const content = reply.content;
  if (content.status === 'error') {
    throw new KernelError(content.ename, content.evalue);
  }
  if (error) {
    throw error;
  }
  return stdout;
}

/** The last line printed that parses as JSON (log lines may come before it). */
function lastJson<T>(stdout: string): T {
  const lines = stdout.split('\n').filter(line => line.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]) as T;
    } catch {
      // not the answer: try the line before
    }
  }
  throw new Error(`The kernel gave no answer: ${stdout.slice(-200)}`);
}

/** Ask the kernel which of its variables hold models; give up after `timeout` ms. */
export async function modelVariables(
  kernel: Kernel.IKernelConnection,
  timeout = 30_000
): Promise<IModelVariable[]> {
  let timer = 0;
  const late = new Promise<never>((_, reject) => {
    timer = window.setTimeout(
      () =>
        reject(
          new Error(
            `The kernel did not answer in ${timeout / 1000} s: is it busy running a cell?`
          )
        ),
      timeout
    );
  });
  try {
    const stdout = await Promise.race([runSilently(kernel, LIST_CODE), late]);
    return lastJson<IModelVariable[]>(stdout);
  } catch (e) {
    if (e instanceof KernelError && e.ename === 'ModuleNotFoundError') {
      throw new Error(
        `This kernel cannot import jupyter_mllab's model support (${e.evalue}): export needs a kernel of the lab's Python environment.`
      );
    }
    throw e;
  } finally {
    window.clearTimeout(timer);
  }
}

type ExportChoice = {
  variable: string;
  name: string;
  format: string;
  alias: string;
  description: string;
  sample: string;
};

/** The export dialog's fields: which variable, under which name, format, alias. */
class ExportForm extends FormBody<ExportChoice> {
  constructor(
    private readonly variables: IModelVariable[],
    project: string
  ) {
    super();
    this.addClass('jp-mllab-export-form');
    this.variable = selectInput(
      'jp-mllab-export-variable',
      'Variable',
      variables.map(v => ({ value: v.name, text: `${v.name} (${v.type})` }))
    );
    this.modelName = textInput(
      'jp-mllab-export-name',
      'Model name',
      variables[0].name
    );
    this.format = selectInput('jp-mllab-export-format', 'Format', []);
    this.alias = textInput(
      'jp-mllab-export-alias',
      'Alias',
      '',
      'optional, e.g. champion'
    );
    this.sample = textInput(
      'jp-mllab-export-sample',
      'Input example',
      '',
      'optional, e.g. X_test[:5]'
    );
    this.description = document.createElement('textarea');
    this.description.className = 'jp-mod-styled jp-mllab-export-description';
    this.description.rows = 2;
    this.description.setAttribute('aria-label', 'Description');
    this.flavor = document.createElement('span');
    this.flavor.className = 'jp-mllab-form-hint jp-mllab-export-flavor';
    this.variable.onchange = () => {
      // a name still the old variable's follows the new variable
      if (this.modelName.value === this.shown) {
        this.modelName.value = this.variable.value;
      }
      this.showVariable();
    };
    this.showVariable();
    this.build(
      field('Variable', this.variable),
      this.flavor,
      field(
        'Name',
        this.modelName,
        `A new version of ${project}/<name> in the model registry.`
      ),
      field('Format', this.format),
      field('Alias', this.alias),
      field(
        'Input example',
        this.sample,
        'A few rows of input (an expression in the kernel): the signature and the input example come from them.'
      ),
      field('Description', this.description)
    );
  }

  getValue(): ExportChoice {
    const name = this.modelName.value.trim();
    if (!name) {
      throw new Error('Give the model a name.');
    }
    return {
      variable: this.variable.value,
      name,
      format: this.format.value,
      alias: this.alias.value.trim(),
      description: this.description.value,
      sample: this.sample.value.trim()
    };
  }

  private showVariable(): void {
    const v =
      this.variables.find(x => x.name === this.variable.value) ??
      this.variables[0];
    this.shown = v.name;
    fillSelect(
      this.format,
      v.formats.map(f => ({ value: f, text: f })),
      v.formats[0]
    );
    this.flavor.textContent = `${v.flavor} model`;
  }

  private shown = '';
  private variable: HTMLSelectElement;
  private modelName: HTMLInputElement;
  private format: HTMLSelectElement;
  private alias: HTMLInputElement;
  private sample: HTMLInputElement;
  private description: HTMLTextAreaElement;
  private flavor: HTMLSpanElement;
}

/**
 * The export dialog for a kernel's model variables: resolves to the exported version,
 * or null when cancelled. The export runs in the kernel (mllab.log_model) while the
 * dialog says "Exporting…"; the kernel's exception is shown in the dialog.
 */
export function exportDialog(
  kernel: Kernel.IKernelConnection,
  variables: IModelVariable[],
  project: string,
  late: (model: IExportedModel) => void
): Promise<IExportedModel | null> {
  return actionDialog<ExportChoice, IExportedModel>({
    title: 'Export model',
    form: new ExportForm(variables, project),
    accept: 'Export',
    busy: 'Exporting…',
    action: async choice =>
      lastJson<IExportedModel>(
        await runSilently(kernel, exportCode(choice.variable, choice))
      ),
    late
  });
}
