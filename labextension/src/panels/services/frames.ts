import type { IFrameSplit } from '../../api/services';

/** A cell as typed: a number where it reads as one, else the text. */
export function parseCell(text: string): unknown {
  const t = text.trim();
  if (t === '') {
    return null;
  }
  if (t === 'true' || t === 'false') {
    return t === 'true';
  }
  const n = Number(t);
  return Number.isFinite(n) ? n : text;
}

export function cellText(value: unknown): string {
  return value === null || value === undefined
    ? ''
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);
}

/** The request body of a frame: MLflow's `dataframe_split`. */
export function requestBody(frame: IFrameSplit): unknown {
  return { dataframe_split: frame };
}
