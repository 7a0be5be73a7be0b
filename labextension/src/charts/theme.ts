import { IThemeManager } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';
import { useEffect, useState } from 'react';

const owner = {};
const changed = new Signal<typeof owner, void>(owner);

/** Tell the charts when JupyterLab's theme changes (called once, by the plugin). */
export function followThemes(manager: IThemeManager): void {
  manager.themeChanged.connect(() => {
    // the new theme's CSS variables are in place by the next frame
    requestAnimationFrame(() => changed.emit());
  });
}

/** A number that changes with every theme change: a dependency that redraws a chart. */
export function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion(v => v + 1);
    changed.connect(bump);
    return () => {
      changed.disconnect(bump);
    };
  }, []);
  return version;
}

/** The colours a chart takes from the JupyterLab theme's CSS variables. */
export interface IChartTheme {
  font: string;
  text: string;
  muted: string;
  grid: string;
  background: string;
}

export function chartTheme(el: Element): IChartTheme {
  const style = getComputedStyle(el);
  const v = (name: string, fallback: string) =>
    style.getPropertyValue(name).trim() || fallback;
  // in pixels: a canvas font in em is relative to the canvas, not the theme
  const family = v('--jp-ui-font-family', 'sans-serif');
  const base = parseFloat(style.fontSize) || 13;
  return {
    font: `${Math.round(base * 0.85)}px ${family}`,
    text: v('--jp-ui-font-color1', '#333'),
    muted: v('--jp-ui-font-color2', '#666'),
    grid: v('--jp-border-color2', '#ddd'),
    background: v('--jp-layout-color1', '#fff')
  };
}
