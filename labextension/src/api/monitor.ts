import { requestAPI } from './request';

export interface IGpu {
  index: number;
  name?: string;
  utilization_percent?: number;
  memory_used_bytes?: number;
  memory_total_bytes?: number;
  temperature_c?: number;
  power_w?: number;
}

export interface ISample {
  t: number;
  cpu_percent: number;
  cpu_per_core: number[];
  load: number[];
  memory_used_bytes: number;
  memory_available_bytes: number;
  memory_total_bytes: number;
  swap_used_bytes: number;
  swap_total_bytes: number;
  disk_used_bytes: number;
  disk_total_bytes: number;
  disk_read_bps: number;
  disk_write_bps: number;
  net_recv_bps: number;
  net_sent_bps: number;
  gpus: IGpu[];
}

export interface IMonitor {
  latest: ISample;
  limits: { cpus: number | null; memory_bytes: number | null };
  gpu_error: string | null;
  interval: number;
  jobs: {
    id: string;
    notebook: string;
    parameters: Record<string, unknown>;
    usage: {
      cpu_percent: number;
      rss_bytes: number;
      gpu_memory_bytes: number;
    } | null;
  }[];
}

export function getMonitor(): Promise<IMonitor> {
  return requestAPI(['monitor']);
}

export async function getHistory(
  since: number,
  resolution: '1s' | '1m' = '1s'
): Promise<ISample[]> {
  const reply = await requestAPI<{ points: ISample[] }>(
    ['monitor', 'history'],
    {},
    { since: String(since), resolution }
  );
  return reply.points;
}
