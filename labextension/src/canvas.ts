/**
 * A canvas ready to draw on in CSS pixels at the screen's resolution (resized only when
 * its size changed), cleared; `null` before it is attached.
 */
export function prepareCanvas(
  el: HTMLCanvasElement | null,
  fallbackWidth: number,
  fallbackHeight: number
): { ctx: CanvasRenderingContext2D; width: number; height: number } | null {
  const ctx = el?.getContext('2d');
  if (!el || !ctx) {
    return null;
  }
  const ratio = window.devicePixelRatio || 1;
  const width = el.clientWidth || fallbackWidth;
  const height = el.clientHeight || fallbackHeight;
  if (el.width !== width * ratio || el.height !== height * ratio) {
    el.width = width * ratio;
    el.height = height * ratio;
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** A colour of the JupyterLab theme (a CSS variable such as `--jp-border-color2`). */
export function themeColor(
  el: Element,
  variable: string,
  fallback: string
): string {
  return getComputedStyle(el).getPropertyValue(variable).trim() || fallback;
}
