import { requestAPI } from './request';
import type { components } from './schema';

type S = components['schemas'];

/** The hardware monitor's shapes (docs/openapi.json). */
export type IGpu = S['Gpu'];
export type ISample = S['Sample'];
export type IMonitor = S['Monitor'];

export function getMonitor(): Promise<IMonitor> {
  return requestAPI(['monitor']);
}

export async function getHistory(
  since: number,
  resolution: S['MonitorHistory']['resolution'] = '1s'
): Promise<ISample[]> {
  const reply = await requestAPI<S['MonitorHistory']>(
    ['monitor', 'history'],
    {},
    { since: String(since), resolution }
  );
  return reply.points;
}
