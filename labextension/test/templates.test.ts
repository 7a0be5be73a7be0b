import { describe, expect, it } from 'vitest';

import {
  createdMessage,
  targetFolder,
  templateKind,
  templateLabel
} from '../src/templates/format';

const wine = {
  id: 'wine-regression',
  title: 'Tabular regression (wine, ElasticNet)',
  category: 'Tabular regression',
  dataset: { parameter: 'data' }
};
const digits = {
  id: 'digits-keras',
  title: 'Image classification (digits, Keras)',
  category: 'Image classification',
  dataset: null
};

describe('templateKind', () => {
  it('gives each category of the catalog its own icon', () => {
    expect(templateKind('Tabular regression')).toBe('tabular');
    expect(templateKind('Image classification')).toBe('image');
    expect(templateKind('Text classification')).toBe('text');
    expect(templateKind('Data preparation')).toBe('data');
    expect(templateKind('Something else')).toBe('tabular');
  });
});

describe('templateLabel', () => {
  it('is the title on a card and a sentence in the palette', () => {
    expect(templateLabel(wine, true)).toBe(wine.title);
    expect(templateLabel(wine, false)).toBe(
      'New notebook from template: Tabular regression (wine, ElasticNet)'
    );
    expect(templateLabel(undefined, false)).toBe('New Notebook from Template');
  });
});

describe('targetFolder', () => {
  it("prefers the launcher's folder, then the file browser's", () => {
    expect(targetFolder('work/a', 'other')).toBe('work/a');
    expect(targetFolder('', 'other')).toBe('');
    expect(targetFolder(undefined, 'other')).toBe('other');
    expect(targetFolder(undefined, undefined)).toBe('');
  });
});

describe('createdMessage', () => {
  it('says which key was filled in, or why none was', () => {
    expect(
      createdMessage(wine, 'work/wine_regression.ipynb', 'p/wine@1', 'p')
    ).toBe('Created wine_regression.ipynb with data = "p/wine@1".');
    expect(createdMessage(wine, 'wine_regression-1.ipynb', null, 'p')).toBe(
      'Created wine_regression-1.ipynb. No dataset of project p fits it: ' +
        'it reads the sample data copied beside it.'
    );
    expect(createdMessage(digits, 'digits_keras.ipynb', null, 'p')).toBe(
      'Created digits_keras.ipynb.'
    );
  });
});
