import { requestAPI } from './request';

/** A run's TensorBoard: where the server proxies it, and its log folder. */
export interface ITensorBoard {
  run_id: string;
  /** The proxied TensorBoard, on this server; its ticket in the path is the credential
   * ("" while none runs). */
  url: string;
  logdir: string;
}

export interface ITensorBoardStatus extends ITensorBoard {
  /** The run has TensorBoard logs (its folder, or the mllab.tensorboard tag). */
  available: boolean;
  running: boolean;
  /** The tensorboard package is installed on the server. */
  installed: boolean;
}

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
