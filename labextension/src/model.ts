import { IStateDB } from '@jupyterlab/statedb';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { getInfo, IServerInfo } from './api/info';
import {
  createProject,
  deleteProject,
  IProject,
  listProjects,
  setCurrentProject,
  updateProject
} from './api/projects';

export const STATE_KEY = 'jupyter-mllab:current-project';

/**
 * What the ML Lab sidebar shows: the projects, the current one, the server's info.
 * Polled while the sidebar is showing and the page is visible (after a first load,
 * which other plugins need); the current project is remembered in the state database
 * and told to the server, so that new kernels start in it.
 */
export class LabModel {
  constructor(private readonly state: IStateDB | null) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval: 10_000, backoff: true, max: 60_000 },
      standby: () => (this.loaded && !this._showing) || 'when-hidden',
      name: 'jupyter-mllab:projects'
    });
  }

  readonly poll: Poll;
  projects: IProject[] = [];
  current = 'default';
  info: IServerInfo | null = null;
  error: string | null = null;
  loaded = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get currentProject(): IProject | undefined {
    return this.projects.find(p => p.name === this.current);
  }

  /** Whether the sidebar is showing; when it comes back, refresh at once. */
  set showing(value: boolean) {
    const wasShowing = this._showing;
    this._showing = value;
    if (value && !wasShowing && this.loaded) {
      void this.poll.refresh();
    }
  }

  setInterval(seconds: number): void {
    const interval = Math.max(1, seconds) * 1000;
    this.poll.frequency = { ...this.poll.frequency, interval };
  }

  /** Load projects (and, once, the server info); pick the remembered project. */
  async refresh(): Promise<void> {
    try {
      const [list, info] = await Promise.all([
        listProjects(),
        this.info?.ready ? Promise.resolve(this.info) : getInfo()
      ]);
      this.projects = list.projects;
      this.info = info;
      if (!this.loaded) {
        const remembered = this.state
          ? ((await this.state.fetch(STATE_KEY)) as string | undefined)
          : undefined;
        const wanted =
          remembered && list.projects.some(p => p.name === remembered)
            ? remembered
            : list.current;
        this.current = wanted;
        if (wanted !== list.current) {
          await setCurrentProject(wanted);
        }
      } else if (!list.projects.some(p => p.name === this.current)) {
        this.current = list.current;
      }
      this.loaded = true;
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    }
    this._changed.emit();
  }

  async switchTo(name: string): Promise<void> {
    await setCurrentProject(name);
    this.current = name;
    await this.state?.save(STATE_KEY, name);
    this._changed.emit();
    this._projectChanged.emit(name);
  }

  async create(name: string, description: string): Promise<IProject> {
    const project = await createProject(name, description);
    await this.refresh();
    await this.switchTo(project.name);
    return project;
  }

  async rename(
    name: string,
    newName: string,
    description?: string
  ): Promise<void> {
    const project = await updateProject(name, { name: newName, description });
    if (this.current === name) {
      this.current = project.name;
      await this.state?.save(STATE_KEY, project.name);
    }
    await this.refresh();
  }

  async remove(name: string, force = false): Promise<void> {
    await deleteProject(name, force);
    if (this.current === name) {
      await this.switchTo('default');
    }
    await this.refresh();
  }

  /** Emitted with the new project's name when the user switches. */
  get projectChanged(): ISignal<this, string> {
    return this._projectChanged;
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  private _showing = false;
  private _changed = new Signal<this, void>(this);
  private _projectChanged = new Signal<this, string>(this);
}
