import { ILabShell } from '@jupyterlab/application';
import { MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { IFrame } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { startTensorBoard, tensorBoardStatus } from '../../api/tensorboard';
import { usePoll } from '../../poll';

const CHECK_EVERY = 5000; // ms: logs may appear while the run goes on

/** Whether the run has TensorBoard logs; asked again until it has or the run is over. */
function useHasTensorBoard(runId: string | null, finished: boolean): boolean {
  const [available, setAvailable] = useState(false);
  const [done, setDone] = useState(false);
  usePoll(
    async () => {
      if (!runId) {
        return;
      }
      try {
        if ((await tensorBoardStatus(runId)).available) {
          setAvailable(true);
        }
      } catch {
        // the server is busy or restarting: ask again later
      }
      if (finished) {
        setDone(true); // a finished run's logs are all there: asked once
      }
    },
    {
      name: `jupyter-mllab:tensorboard-${runId}`,
      interval: CHECK_EVERY,
      active: !!runId && !available && !done,
      deps: [runId]
    }
  );
  return available;
}

/** "Open TensorBoard", shown once the run's MLflow run has TensorBoard logs. */
export function TensorBoardButton(props: {
  runId: string | null;
  finished: boolean;
  open: (runId: string) => Promise<void>;
}): JSX.Element | null {
  const available = useHasTensorBoard(props.runId, props.finished);
  const [starting, setStarting] = useState(false);
  const runId = props.runId;
  if (!runId || !available) {
    return null;
  }
  const click = async () => {
    setStarting(true);
    try {
      await props.open(runId);
    } finally {
      setStarting(false);
    }
  };
  return (
    <button
      className="jp-mod-styled jp-mllab-tensorboard-button"
      disabled={starting}
      title="TensorBoard on this run's logs, through this server"
      onClick={() => void click()}
    >
      {starting ? 'Starting TensorBoard…' : 'Open TensorBoard'}
    </button>
  );
}

/** Opens (or shows) a run's TensorBoard in the main area, starting it first. */
export function tensorBoardOpener(
  shell: ILabShell
): (runId: string) => Promise<void> {
  return async (runId: string) => {
    const widgetId = `jp-mllab-tensorboard-${runId}`;
    for (const widget of shell.widgets('main')) {
      if (widget.id === widgetId) {
        shell.activateById(widgetId);
        return;
      }
    }
    let url: string;
    try {
      url = (await startTensorBoard(runId)).url; // waits until it answers
    } catch (e) {
      void showErrorMessage('Cannot open TensorBoard', e as Error);
      return;
    }
    for (const widget of shell.widgets('main')) {
      if (widget.id === widgetId) {
        shell.activateById(widgetId); // opened meanwhile (a second click)
        return;
      }
    }
    // TensorBoard's page comes through this server's proxy, but runs in an opaque
    // origin (no allow-same-origin; the proxy's CSP sandboxes it too): its scripts
    // cannot reach JupyterLab, its cookies or its API. The URL's ticket is its credential.
    const content = new IFrame({
      sandbox: [
        'allow-scripts',
        'allow-forms',
        'allow-popups',
        'allow-downloads'
      ],
      referrerPolicy: 'no-referrer'
    });
    content.url = url;
    const widget = new MainAreaWidget({ content });
    widget.id = widgetId;
    widget.addClass('jp-mllab-tensorboard');
    widget.title.label = `TensorBoard ${runId.slice(0, 8)}`;
    widget.title.caption = `TensorBoard of MLflow run ${runId}`;
    widget.title.closable = true;
    shell.add(widget, 'main');
    shell.activateById(widgetId);
  };
}
