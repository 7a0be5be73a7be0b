import { requestAPI } from './request';

export interface IGpuInfo {
  available: boolean;
  count: number;
  names: string[];
}

export interface IServerInfo {
  version: string;
  home: string;
  tracking_uri: string;
  artifact_root: string;
  executor: 'local' | 'dask';
  max_concurrent_runs: number;
  dask_scheduler_address: string;
  gpu: IGpuInfo;
  ready: boolean;
}

export function getInfo(): Promise<IServerInfo> {
  return requestAPI<IServerInfo>(['info']);
}
