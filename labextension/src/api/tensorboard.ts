import { requestAPI } from './request';

import type { components } from './schema';

type S = components['schemas'];

/**
 * A run's TensorBoard: where the server proxies it (`url`, on this server; its ticket in
 * the path is the credential, "" while none runs) and its log folder. The status adds
 * whether the run has logs, whether one runs, whether the tensorboard package is installed.
 */
export type ITensorBoard = S['TensorBoardOpen'];
export type ITensorBoardStatus = S['TensorBoardStatus'];

export function tensorBoardStatus(runId: string): Promise<ITensorBoardStatus> {
  return requestAPI(['runs', runId, 'tensorboard']);
}

/** Start the run's TensorBoard (or reuse the running one); resolves once it answers. */
export function startTensorBoard(runId: string): Promise<ITensorBoard> {
  return requestAPI(['runs', runId, 'tensorboard'], { method: 'POST' });
}

export async function stopTensorBoard(runId: string): Promise<void> {
  await requestAPI(['runs', runId, 'tensorboard'], { method: 'DELETE' });
}
