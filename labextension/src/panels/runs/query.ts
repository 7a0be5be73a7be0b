/**
 * The runs table's query and columns, without React: what the toolbar's fields, the
 * sort and the page make of GET runs' query, and which columns a page shows first.
 */
import type { IRunsPage, IRunsQuery } from '../../api/runs';
import type { Column } from './ColumnPicker';

/** Rows a page shows. */
export const PAGE = 50;

/** The toolbar's fields (the filter as applied, not as being typed). */
export interface IRunsFilters {
  filter: string;
  status: string;
  notebook: string;
  dataset: string;
  tag: string;
  sweep: string;
}

export const NO_FILTERS: IRunsFilters = {
  filter: '',
  status: '',
  notebook: '',
  dataset: '',
  tag: '',
  sweep: ''
};

/** GET runs' query of a project, its filters, the order and the page's offset. */
export function runsQuery(
  project: string,
  filters: IRunsFilters,
  order: string,
  offset: number
): IRunsQuery {
  return {
    project,
    ...filters,
    order_by: order,
    offset,
    limit: PAGE
  };
}

/** MLflow's order_by name of a column ("attributes.start_time", "metrics.`acc`"). */
export function orderKey(c: Column | string): string {
  if (typeof c === 'string') {
    return `attributes.${c}`;
  }
  const prefix = { params: 'params', metrics: 'metrics', tags: 'tags' }[c.kind];
  return `${prefix}.\`${c.key}\``;
}

/** An order_by's key and direction (a quoted key may hold spaces: "metrics.`val acc` DESC"). */
function splitOrder(order: string): [string, string] {
  const cut = order.lastIndexOf(' ');
  return cut < 0 ? [order, ''] : [order.slice(0, cut), order.slice(cut + 1)];
}

/** The order after a click on a column's header: descending first, then ascending. */
export function nextOrder(order: string, c: Column | string): string {
  const key = orderKey(c);
  const [current, dir] = splitOrder(order);
  return current === key && dir === 'DESC' ? `${key} ASC` : `${key} DESC`;
}

/** How a column is sorted now, as aria-sort says it. */
export function sortOf(
  order: string,
  c: Column | string
): 'ascending' | 'descending' | 'none' {
  const [current, dir] = splitOrder(order);
  if (current !== orderKey(c)) {
    return 'none';
  }
  return dir === 'ASC' ? 'ascending' : 'descending';
}

/** Short headers for the resource columns (the hardware sampler's summary). */
export const RESOURCES: Record<string, string> = {
  'system/peak_rss_mb': 'peak RSS MB',
  'system/mean_cpu_percent': 'mean CPU %',
  'system/peak_gpu_memory_mb': 'peak GPU MB'
};

/** A column's header text. */
export function header(c: Column): string {
  return RESOURCES[c.key] ?? c.key;
}

/**
 * The columns a project's table starts with: `wanted` ("params.lr", "metrics.acc", the
 * setting) where the page has them, else its first four parameters and metrics; then
 * each run's resources, when runs have them (GPU memory only when a run used a GPU).
 */
export function defaultColumns(
  page: IRunsPage,
  wanted: string[] = []
): Column[] {
  const has = (c: Column) => page.columns[c.kind].includes(c.key);
  const chosen = wanted
    .map(parseColumn)
    .filter((c): c is Column => c !== null && has(c));
  const first = chosen.length
    ? chosen
    : [
        ...page.columns.params
          .slice(0, 4)
          .map(key => ({ kind: 'params' as const, key })),
        ...page.columns.metrics
          .filter(k => !k.startsWith('system/'))
          .slice(0, 4)
          .map(key => ({ kind: 'metrics' as const, key }))
      ];
  const resources = Object.keys(RESOURCES)
    .filter(k => page.columns.metrics.includes(k))
    .filter(k => !k.includes('gpu') || page.runs.some(r => r.metrics[k]))
    .filter(k => !first.some(c => c.kind === 'metrics' && c.key === k))
    .map(key => ({ kind: 'metrics' as const, key }));
  return [...first, ...resources];
}

/** "metrics.accuracy" -> {kind: "metrics", key: "accuracy"}; null if it names no kind. */
export function parseColumn(id: string): Column | null {
  const dot = id.indexOf('.');
  const kind = id.slice(0, dot);
  const key = id.slice(dot + 1);
  if (dot < 1 || !key || !['params', 'metrics', 'tags'].includes(kind)) {
    return null;
  }
  return { kind: kind as Column['kind'], key };
}

/** The pager's "51–100 of 230" ("0" for an empty page; no total when not counted). */
export function pageRange(
  offset: number,
  rows: number,
  total: number | null | undefined
): string {
  const range = rows ? `${offset + 1}–${offset + rows}` : '0';
  return total !== null && total !== undefined ? `${range} of ${total}` : range;
}

/** Whether a page follows this one. */
export function hasNext(
  offset: number,
  rows: number,
  total: number | null | undefined
): boolean {
  return total !== null && total !== undefined
    ? offset + PAGE < total
    : rows >= PAGE;
}

/** A run's start, in the browser's locale ('' when unknown). */
export function when(ms: number | null): string {
  return ms ? new Date(ms).toLocaleString() : '';
}
