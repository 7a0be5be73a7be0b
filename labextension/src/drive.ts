import { Contents, ServerConnection } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';

import { jobOutput } from './api/jobs';

export const RUNS_DRIVE = 'mllab-runs';

function readOnly(): Promise<never> {
  return Promise.reject(
    new Error(
      'Output notebooks of runs are read-only. Use File > Save Notebook As… to keep an editable copy.'
    )
  );
}

/**
 * A read-only JupyterLab drive over the output notebooks of runs: `mllab-runs:<job id>/<name>.ipynb`.
 * Output notebooks live under the lab's (hidden) home, which the contents API does not serve.
 */
export class RunsDrive implements Contents.IDrive {
  readonly name = RUNS_DRIVE;
  readonly serverSettings = ServerConnection.makeSettings();
  readonly fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  isDisposed = false;

  async get(
    localPath: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    const [id, name] = localPath.split('/');
    if (!name) {
      return {
        name: id,
        path: localPath,
        type: 'directory',
        writable: false,
        created: '',
        last_modified: '',
        mimetype: '',
        content: [],
        format: 'json'
      };
    }
    const content = options?.content === false ? null : await jobOutput(id);
    const now = new Date().toISOString();
    return {
      name,
      path: localPath,
      type: 'notebook',
      writable: false,
      created: now,
      last_modified: now,
      mimetype: 'application/x-ipynb+json',
      content,
      format: 'json'
    };
  }

  async getDownloadUrl(localPath: string): Promise<string> {
    const [id] = localPath.split('/');
    const base = this.serverSettings.baseUrl.replace(/\/$/, '');
    return `${base}/mllab/api/jobs/${id}/output?download=true`;
  }

  newUntitled(): Promise<Contents.IModel> {
    return readOnly();
  }
  delete(): Promise<void> {
    return readOnly();
  }
  rename(): Promise<Contents.IModel> {
    return readOnly();
  }
  save(): Promise<Contents.IModel> {
    return readOnly();
  }
  copy(): Promise<Contents.IModel> {
    return readOnly();
  }
  async createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return { id: 'none', last_modified: new Date().toISOString() };
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  restoreCheckpoint(): Promise<void> {
    return readOnly();
  }
  deleteCheckpoint(): Promise<void> {
    return Promise.resolve();
  }
  dispose(): void {
    this.isDisposed = true;
    Signal.clearData(this);
  }
}
