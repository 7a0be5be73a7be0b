import { formatWhen } from '../datasets/format';

/** Epoch seconds, as the datasets panel says when: "5 min ago", a date. */
export function formatEpoch(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) {
    return '—';
  }
  return formatWhen(new Date(seconds * 1000).toISOString());
}

/** A metric's value, short; null (NaN, infinities) as a dash. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A model widget's id: one page per model. */
export function modelWidgetId(project: string, name: string): string {
  const safe = (s: string) =>
    s.replace(/[^A-Za-z0-9-]/g, c => `_${c.charCodeAt(0).toString(16)}`);
  return `jp-mllab-model-${safe(project)}--${safe(name)}`;
}
