/**
 * The run form's logic, without React: the fields a person fills in, read as the
 * parameters' types and turned into a submit's body. How many runs a body makes is the
 * server's answer (`POST jobs/plan`, the expansion a submit does): not computed here.
 */
import type {
  INotebookParameters,
  IParameter,
  IPlan,
  ISubmit
} from '../../api/jobs';

export type Mode = 'value' | 'list' | 'range';
export type Search = 'grid' | 'random';

/** One parameter's field: a value, a comma-separated list, or a range. */
export interface IField {
  mode: Mode;
  value: string;
  list: string;
  low: string;
  high: string;
  step: string;
  log: boolean;
}

/** Everything the form holds, as typed. */
export interface IRunSpec {
  fields: IField[];
  search: Search;
  trials: string;
  seed: string;
  timeout: string;
  tags: string;
  datasets: string;
  /** Run in the notebook's own folder (no outputs saved). */
  inPlace: boolean;
  include: string;
  exclude: string;
  maxFileMb: string;
}

/** A value as the form shows it: the notebook's source for its default. */
export function show(value: unknown, param: IParameter): string {
  if (value === null || value === undefined) {
    return param.default_source;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The form of a notebook's parameters, each field at `initial`'s value or the default. */
export function initialSpec(
  info: INotebookParameters,
  initial: Record<string, unknown> = {}
): IRunSpec {
  return {
    fields: info.parameters.map(p => {
      const start = p.name in initial ? initial[p.name] : p.default;
      return {
        mode: 'value',
        value: show(start, p),
        list: show(start, p),
        low: '',
        high: '',
        step: '',
        log: false
      };
    }),
    search: 'grid',
    trials: '8',
    seed: '0',
    timeout: '',
    tags: '',
    datasets: '',
    inPlace: false,
    include: '',
    exclude: '',
    maxFileMb: ''
  };
}

/** A copy that shares nothing with `spec` (a dialog's body is disposed when it closes). */
export function cloneSpec(spec: IRunSpec): IRunSpec {
  return { ...spec, fields: spec.fields.map(f => ({ ...f })) };
}

/** A text typed into a field, as the parameter's type (throws with what is wrong). */
export function parseValue(text: string, type: IParameter['type']): unknown {
  const t = text.trim();
  switch (type) {
    case 'int': {
      if (!/^[-+]?\d+$/.test(t)) {
        throw new Error(`"${t}" is not a whole number`);
      }
      return parseInt(t, 10);
    }
    case 'float': {
      const n = Number(t);
      if (t === '' || !isFinite(n)) {
        throw new Error(`"${t}" is not a number`);
      }
      return n;
    }
    case 'bool':
      if (/^(true|false)$/i.test(t)) {
        return t.toLowerCase() === 'true';
      }
      throw new Error(`"${t}" is not true or false`);
    case 'str':
      return text;
    default:
      try {
        return JSON.parse(t);
      } catch {
        return text;
      }
  }
}

/** "a, b,, c" -> ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map(s => s.trim())
    .filter(s => s.length > 0);
}

/** "team=a, note=x=y" -> {team: "a", note: "x=y"} (throws on a pair without a key). */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of splitList(text)) {
    const [k, ...v] = pair.split('=');
    if (!k.trim()) {
      throw new Error(`Tags: "${pair}" has no key (write key=value)`);
    }
    tags[k.trim()] = v.join('=').trim();
  }
  return tags;
}

function number(text: string, what: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !isFinite(n)) {
    throw new Error(`${what}: "${text.trim()}" is not a number`);
  }
  return n;
}

/**
 * What is still missing before the body can be planned (a range without its bounds,
 * or a grid range without its step), or null. Not an error: the form is half filled.
 */
export function missing(
  info: INotebookParameters,
  spec: IRunSpec
): string | null {
  const empty = info.parameters.filter((_, i) => {
    const f = spec.fields[i];
    if (f.mode !== 'range') {
      return false;
    }
    const bounds = [f.low, f.high, ...(spec.search === 'grid' ? [f.step] : [])];
    return bounds.some(b => b.trim() === '');
  });
  if (!empty.length) {
    return null;
  }
  const what = spec.search === 'grid' ? 'low, high and step' : 'low and high';
  return `Fill in ${what} of ${empty.map(p => p.name).join(', ')} to see how many runs this makes.`;
}

/** The submit's body of the form (throws with a message a person can act on). */
export function toSubmission(
  info: INotebookParameters,
  spec: IRunSpec
): ISubmit {
  const parameters: Record<string, unknown> = {};
  info.parameters.forEach((p, i) => {
    const f = spec.fields[i];
    try {
      if (f.mode === 'value') {
        const value = parseValue(f.value, p.type);
        if (show(value, p) !== show(p.default, p)) {
          parameters[p.name] = value;
        }
      } else if (f.mode === 'list') {
        const values = splitList(f.list).map(v => parseValue(v, p.type));
        if (!values.length) {
          throw new Error('give at least one value');
        }
        parameters[p.name] =
          spec.search === 'random' ? { choices: values } : { values };
      } else {
        const range: Record<string, unknown> = {
          low: number(f.low, 'low'),
          high: number(f.high, 'high')
        };
        if (f.step.trim()) {
          range.step = number(f.step, 'step');
        }
        if (f.log) {
          range.log = true;
        }
        parameters[p.name] = { range };
      }
    } catch (e) {
      throw new Error(`${p.name}: ${(e as Error).message}`);
    }
  });
  const body: ISubmit = { notebook: info.path, parameters };
  if (spec.search === 'random') {
    const trials = spec.trials.trim();
    if (!/^\d+$/.test(trials) || parseInt(trials, 10) < 1) {
      throw new Error(`Trials: "${trials}" is not a positive whole number`);
    }
    const seed = spec.seed.trim();
    if (seed && !/^[-+]?\d+$/.test(seed)) {
      throw new Error(`Seed: "${seed}" is not a whole number`);
    }
    body.search = {
      kind: 'random',
      trials: parseInt(trials, 10),
      seed: seed ? parseInt(seed, 10) : 0
    };
  }
  if (spec.timeout.trim()) {
    const timeout = number(spec.timeout, 'Timeout');
    if (!(timeout > 0)) {
      throw new Error(`Timeout: "${spec.timeout.trim()}" is not over 0 s`);
    }
    body.timeout = timeout;
  }
  body.tags = parseTags(spec.tags);
  body.datasets = splitList(spec.datasets);
  if (spec.inPlace) {
    body.in_place = true;
  }
  const outputs: NonNullable<ISubmit['outputs']> = {};
  if (spec.include.trim()) {
    outputs.include = splitList(spec.include);
  }
  if (spec.exclude.trim()) {
    outputs.exclude = splitList(spec.exclude);
  }
  if (spec.maxFileMb.trim()) {
    const mb = Number(spec.maxFileMb);
    if (!(mb > 0)) {
      throw new Error(
        `Output size cap: "${spec.maxFileMb}" is not a positive number`
      );
    }
    outputs.max_file_bytes = Math.round(mb * 2 ** 20);
  }
  if (Object.keys(outputs).length) {
    body.outputs = outputs;
  }
  return body;
}

/** The server's plan in a sentence: "This makes 6 runs (a grid)." */
export function planSentence(plan: IPlan): string {
  if (plan.count === 1) {
    return 'This makes 1 run.';
  }
  const kind = plan.search === 'random' ? 'random search' : 'a grid';
  return `This makes ${plan.count} runs (${kind}).`;
}

/** One planned run's values, short: "alpha=0.1, epochs=3" (the defaults: "defaults"). */
export function runLabel(values: Record<string, unknown>): string {
  const pairs = Object.entries(values).map(
    ([k, v]) =>
      `${k}=${typeof v === 'number' ? String(Number(v.toPrecision(6))) : JSON.stringify(v)}`
  );
  return pairs.length ? pairs.join(', ') : 'the notebook’s defaults';
}
