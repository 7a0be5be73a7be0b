import { describe, expect, it } from 'vitest';

import type { INotebookParameters, IPlan } from '../src/api/jobs';
import {
  cloneSpec,
  initialSpec,
  missing,
  parseTags,
  parseValue,
  planSentence,
  runLabel,
  splitList,
  toSubmission
} from '../src/panels/experiments/runSpec';

const info: INotebookParameters = {
  path: 'train.ipynb',
  kernel: 'python3',
  has_parameters_cell: true,
  warnings: [],
  parameters: [
    {
      name: 'lr',
      type: 'float',
      default: 0.1,
      default_source: '0.1',
      help: ''
    },
    {
      name: 'epochs',
      type: 'int',
      default: 5,
      default_source: '5',
      help: ''
    },
    {
      name: 'opt',
      type: 'str',
      default: 'adam',
      default_source: "'adam'",
      help: ''
    },
    {
      name: 'shuffle',
      type: 'bool',
      default: true,
      default_source: 'True',
      help: ''
    },
    {
      name: 'layers',
      type: 'None',
      default: null,
      default_source: 'make_layers()',
      help: ''
    }
  ]
};

describe('parseValue', () => {
  it('reads each type, and says what is wrong', () => {
    expect(parseValue(' 42 ', 'int')).toBe(42);
    expect(parseValue('-3', 'int')).toBe(-3);
    expect(() => parseValue('4.5', 'int')).toThrow(
      '"4.5" is not a whole number'
    );
    expect(parseValue('1e-3', 'float')).toBe(0.001);
    expect(() => parseValue('', 'float')).toThrow('is not a number');
    expect(() => parseValue('Infinity', 'float')).toThrow('is not a number');
    expect(parseValue('TRUE', 'bool')).toBe(true);
    expect(() => parseValue('yes', 'bool')).toThrow('is not true or false');
    expect(parseValue(' as typed ', 'str')).toBe(' as typed ');
    expect(parseValue('[1, 2]', 'list')).toEqual([1, 2]);
    expect(parseValue('not json', 'None')).toBe('not json');
  });
});

describe('splitList and parseTags', () => {
  it('splits on commas, drops empties', () => {
    expect(splitList(' a, b,, c ,')).toEqual(['a', 'b', 'c']);
    expect(splitList('')).toEqual([]);
  });
  it('reads key=value pairs; a value may hold "="', () => {
    expect(parseTags('team=a, note=x=y, flag')).toEqual({
      team: 'a',
      note: 'x=y',
      flag: ''
    });
    expect(() => parseTags('=orphan')).toThrow('has no key');
  });
});

describe('the form to a submission', () => {
  it('starts at the defaults (or the given values) and submits nothing changed', () => {
    const spec = initialSpec(info, { epochs: 9 });
    expect(spec.fields.map(f => f.value)).toEqual([
      '0.1',
      '9',
      'adam',
      'true',
      'make_layers()'
    ]);
    const body = toSubmission(info, initialSpec(info));
    expect(body).toEqual({
      notebook: 'train.ipynb',
      parameters: {},
      tags: {},
      datasets: []
    });
    expect(toSubmission(info, spec).parameters).toEqual({ epochs: 9 });
  });

  it('a list is a grid axis, or choices for a random search', () => {
    const spec = initialSpec(info);
    spec.fields[0] = { ...spec.fields[0], mode: 'list', list: '0.1, 0.01' };
    spec.fields[2] = { ...spec.fields[2], mode: 'list', list: 'adam,sgd' };
    expect(toSubmission(info, spec).parameters).toEqual({
      lr: { values: [0.1, 0.01] },
      opt: { values: ['adam', 'sgd'] }
    });
    spec.search = 'random';
    spec.trials = '4';
    spec.seed = '7';
    const body = toSubmission(info, spec);
    expect(body.parameters!.lr).toEqual({ choices: [0.1, 0.01] });
    expect(body.search).toEqual({ kind: 'random', trials: 4, seed: 7 });
  });

  it('a range carries its bounds, step and log scale', () => {
    const spec = initialSpec(info);
    spec.fields[1] = {
      ...spec.fields[1],
      mode: 'range',
      low: '1',
      high: '9',
      step: '2'
    };
    spec.fields[0] = {
      ...spec.fields[0],
      mode: 'range',
      low: '0.001',
      high: '1',
      log: true
    };
    spec.search = 'random';
    expect(toSubmission(info, spec).parameters).toEqual({
      lr: { range: { low: 0.001, high: 1, log: true } },
      epochs: { range: { low: 1, high: 9, step: 2 } }
    });
  });

  it('names the field that cannot be read', () => {
    const spec = initialSpec(info);
    spec.fields[1] = { ...spec.fields[1], mode: 'list', list: '2, deep' };
    expect(() => toSubmission(info, spec)).toThrow(
      'epochs: "deep" is not a whole number'
    );
    spec.fields[1] = { ...spec.fields[1], list: ' , ' };
    expect(() => toSubmission(info, spec)).toThrow(
      'epochs: give at least one value'
    );
    const range = initialSpec(info);
    range.fields[0] = {
      ...range.fields[0],
      mode: 'range',
      low: 'x',
      high: '1'
    };
    expect(() => toSubmission(info, range)).toThrow(
      'lr: low: "x" is not a number'
    );
    const random = initialSpec(info);
    random.search = 'random';
    random.trials = '0';
    expect(() => toSubmission(info, random)).toThrow('Trials');
    random.trials = '3';
    random.seed = '1.5';
    expect(() => toSubmission(info, random)).toThrow('Seed');
    const other = initialSpec(info);
    other.timeout = '-1';
    expect(() => toSubmission(info, other)).toThrow('Timeout');
    other.timeout = '';
    other.maxFileMb = 'big';
    expect(() => toSubmission(info, other)).toThrow('Output size cap');
  });

  it('tags, datasets, timeout and what is saved as outputs', () => {
    const spec = initialSpec(info);
    Object.assign(spec, {
      tags: 'team=a',
      datasets: 'wine@1, digits',
      timeout: '90',
      include: '*.png, model/**',
      maxFileMb: '1.5'
    });
    const body = toSubmission(info, spec);
    expect(body.tags).toEqual({ team: 'a' });
    expect(body.datasets).toEqual(['wine@1', 'digits']);
    expect(body.timeout).toBe(90);
    expect(body.outputs).toEqual({
      include: ['*.png', 'model/**'],
      max_file_bytes: Math.round(1.5 * 2 ** 20)
    });
    spec.inPlace = true;
    expect(toSubmission(info, spec).in_place).toBe(true);
  });

  it('missing: a half-filled range is not an error, it says what to fill', () => {
    const spec = initialSpec(info);
    expect(missing(info, spec)).toBeNull();
    spec.fields[1] = { ...spec.fields[1], mode: 'range', low: '1', high: '3' };
    expect(missing(info, spec)).toBe(
      'Fill in low, high and step of epochs to see how many runs this makes.'
    );
    spec.search = 'random'; // a random draw needs no step
    expect(missing(info, spec)).toBeNull();
  });

  it('clones share nothing', () => {
    const spec = initialSpec(info);
    const copy = cloneSpec(spec);
    copy.fields[0].value = '9';
    copy.tags = 'x=y';
    expect(spec.fields[0].value).toBe('0.1');
    expect(spec.tags).toBe('');
  });
});

describe("the server's plan in words", () => {
  const plan = (count: number, search: IPlan['search']): IPlan => ({
    count,
    search,
    runs: [],
    warnings: []
  });
  it('counts runs and says which search', () => {
    expect(planSentence(plan(1, 'single'))).toBe('This makes 1 run.');
    expect(planSentence(plan(4, 'grid'))).toBe('This makes 4 runs (a grid).');
    expect(planSentence(plan(8, 'random'))).toBe(
      'This makes 8 runs (random search).'
    );
  });
  it('a run by its values, floats short', () => {
    expect(runLabel({ lr: 0.30000000000000004, opt: 'sgd', n: 3 })).toBe(
      'lr=0.3, opt="sgd", n=3'
    );
    expect(runLabel({})).toBe('the notebook’s defaults');
  });
});
