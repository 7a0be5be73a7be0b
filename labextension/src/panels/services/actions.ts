import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';

import {
  IService,
  removeService,
  ServiceAction,
  serviceAction
} from '../../api/services';

/** What the services' views ask of the lab (commands of other plugins). */
export interface IServiceActions {
  openService: (name: string) => void;
  openModel: (project: string, name: string, version?: number) => void;
  /** The services changed (one was stopped, removed, deployed): lists refresh. */
  changed: () => void;
}

const VERB: Record<ServiceAction, string> = {
  stop: 'stop',
  start: 'start',
  restart: 'restart'
};

/** Stop, start or restart a service; an error is shown, not thrown. */
export async function runAction(
  svc: IService,
  action: ServiceAction
): Promise<IService | null> {
  try {
    return await serviceAction(svc.name, action);
  } catch (e) {
    await showErrorMessage(`Cannot ${VERB[action]} ${svc.name}`, e as Error);
    return null;
  }
}

/** Remove a service after asking: its process stops and its files go. */
export async function confirmRemove(svc: IService): Promise<boolean> {
  const answer = await showDialog({
    title: `Remove service ${svc.name}?`,
    body: `Its process stops and its files and log are deleted; ${svc.url} stops answering. The model version stays in the registry.`,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
  });
  if (!answer.button.accept) {
    return false;
  }
  try {
    await removeService(svc.name);
    return true;
  } catch (e) {
    await showErrorMessage(`Cannot remove ${svc.name}`, e as Error);
    return false;
  }
}

/** Whether a service can be stopped (its process is meant to run) or started. */
export function canStop(svc: IService): boolean {
  return ['starting', 'running', 'restarting'].includes(svc.status);
}
