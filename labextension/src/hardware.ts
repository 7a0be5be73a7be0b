import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Poll } from '@lumino/polling';
import { Widget } from '@lumino/widgets';

import { getMonitor } from './api/monitor';
import { formatBytes } from './panels/datasets/format';

/** CPU and memory of the machine in the status bar (polled only while the page shows). */
export const hardwareStatusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mllab:hardware-status',
  description: 'CPU and memory use of the machine in the status bar.',
  autoStart: true,
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, statusBar: IStatusBar | null) => {
    if (!statusBar) {
      return;
    }
    const item = new Widget();
    item.addClass('jp-mllab-statusbar');
    item.node.title = 'ML Lab: CPU and memory of this machine';
    item.node.textContent = 'CPU – · RAM –';
    const poll = new Poll({
      factory: async () => {
        const { latest, limits } = await getMonitor();
        const total = limits.memory_bytes ?? latest.memory_total_bytes;
        item.node.textContent =
          `CPU ${latest.cpu_percent.toFixed(0)}% · ` +
          `RAM ${formatBytes(latest.memory_used_bytes)} / ${formatBytes(total)}`;
      },
      frequency: { interval: 3000, backoff: true, max: 30_000 },
      standby: 'when-hidden',
      name: 'jupyter-mllab:hardware-status'
    });
    statusBar.registerStatusItem('jupyter-mllab:hardware', {
      item,
      align: 'left',
      rank: 5
    });
    void app.restored.then(() => poll.start());
  }
};
