import { IJob } from '../../api/jobs';

export function params(job: IJob): string {
  const p = job.parameters ?? {};
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) {
    return '';
  }
  if (s < 60) {
    return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  }
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m} min ${Math.round(s % 60)} s`
    : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fraction(job: IJob): number {
  if (job.kind === 'sweep' && job.counts) {
    const c = job.counts;
    const total = Object.values(c).reduce((a, b) => a + b, 0);
    return total ? (c.COMPLETED + c.FAILED + c.CANCELLED) / total : 0;
  }
  const p = job.progress;
  if (!p || !p.cells_total) {
    return job.status === 'COMPLETED' ? 1 : 0;
  }
  return p.cells_done / p.cells_total;
}

export function notebookName(path: string): string {
  return path.split('/').pop() ?? path;
}
