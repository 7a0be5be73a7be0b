import { requestAPI } from './request';
import type { components } from './schema';

type S = components['schemas'];

/** GET info: the lab's configuration and state (docs/openapi.json). */
export type IGpuInfo = S['GpuInfo'];
export type IServerInfo = S['Info'];

export function getInfo(): Promise<IServerInfo> {
  return requestAPI<IServerInfo>(['info']);
}
