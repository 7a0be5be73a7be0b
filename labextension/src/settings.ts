import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';
import { useEffect, useState } from 'react';

export const PLUGIN_ID = 'jupyter-mllab:plugin';

/** The extension's settings (labextension/schema/plugin.json), as the views use them. */
export interface IMLLabSettings {
  /** How often live views ask the server for news, in seconds. */
  refreshInterval: number;
  /** Columns the runs table shows at first ("params.lr", "metrics.loss", "tags.x"); [] = pick. */
  runsColumns: string[];
  /** Runs at once shown in the run form for a sweep (0: the server's limit). */
  defaultConcurrency: number;
  /** Metric curves' smoothing at first (TensorBoard's debiased EMA weight, 0 to 0.99). */
  chartSmoothing: number;
}

export const DEFAULT_SETTINGS: IMLLabSettings = {
  refreshInterval: 10,
  runsColumns: [],
  defaultConcurrency: 0,
  chartSmoothing: 0
};

/**
 * The settings, readable before they load (the defaults) and after (the user's), with a
 * signal on every change: views follow the Settings Editor without a reload.
 */
export class LabSettings {
  get current(): IMLLabSettings {
    return this._current;
  }

  get changed(): ISignal<this, IMLLabSettings> {
    return this._changed;
  }

  /** Read the registry's settings now and whenever they change. */
  async load(registry: ISettingRegistry): Promise<void> {
    const loaded = await registry.load(PLUGIN_ID);
    this.apply(loaded.composite as Partial<IMLLabSettings>);
    loaded.changed.connect(() =>
      this.apply(loaded.composite as Partial<IMLLabSettings>)
    );
  }

  /** Take new values (missing or malformed ones fall back to the defaults). */
  apply(values: Partial<IMLLabSettings>): void {
    const num = (v: unknown, lo: number, hi: number, dflt: number) =>
      typeof v === 'number' && isFinite(v)
        ? Math.min(hi, Math.max(lo, v))
        : dflt;
    const next: IMLLabSettings = {
      refreshInterval: num(
        values.refreshInterval,
        1,
        3600,
        DEFAULT_SETTINGS.refreshInterval
      ),
      runsColumns: Array.isArray(values.runsColumns)
        ? values.runsColumns.filter(c => typeof c === 'string')
        : DEFAULT_SETTINGS.runsColumns,
      defaultConcurrency: Math.round(
        num(
          values.defaultConcurrency,
          0,
          1024,
          DEFAULT_SETTINGS.defaultConcurrency
        )
      ),
      chartSmoothing: num(
        values.chartSmoothing,
        0,
        0.99,
        DEFAULT_SETTINGS.chartSmoothing
      )
    };
    if (JSON.stringify(next) !== JSON.stringify(this._current)) {
      this._current = next;
      this._changed.emit(next);
    }
  }

  private _current: IMLLabSettings = { ...DEFAULT_SETTINGS };
  private _changed = new Signal<this, IMLLabSettings>(this);
}

/** The one settings object of the extension (index.ts loads it from the registry). */
export const settings = new LabSettings();

/** The current settings in a React view, re-rendering when they change. */
export function useSettings(): IMLLabSettings {
  const [current, setCurrent] = useState(settings.current);
  useEffect(() => {
    const update = (_: LabSettings, next: IMLLabSettings) => setCurrent(next);
    settings.changed.connect(update);
    setCurrent(settings.current);
    return () => {
      settings.changed.disconnect(update);
    };
  }, []);
  return current;
}
