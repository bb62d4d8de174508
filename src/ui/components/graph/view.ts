/**
 * Pan and zoom as plain numbers: a view `{x, y, k}` draws content point `(cx, cy)` at screen
 * point `(x + k*cx, y + k*cy)` (one CSS `translate(x, y) scale(k)` on the content layer, origin top left).
 */

export interface View {
  x: number;
  y: number;
  k: number;
}

export interface Size {
  w: number;
  h: number;
}

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 3;
/** Below this scale a fitted graph is unreadable: start by fitting the width instead, from the top. */
export const READABLE_ZOOM = 0.55;

export function clampZoom(k: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));
}

/** Zooms by `factor` keeping screen point `(px, py)` over the same content point. */
export function zoomAt(v: View, factor: number, px: number, py: number): View {
  const k = clampZoom(v.k * factor);
  const r = k / v.k;
  return { k, x: px - (px - v.x) * r, y: py - (py - v.y) * r };
}

/** The whole content in the view, centred, never enlarged past 100%. */
export function fitView(content: Size, view: Size): View {
  const k = clampZoom(Math.min(1, view.w / content.w, view.h / content.h));
  return { k, x: (view.w - content.w * k) / 2, y: (view.h - content.h * k) / 2 };
}

/** Fit when the result is readable; otherwise fit the width (at least READABLE_ZOOM) and show the top. */
export function initialView(content: Size, view: Size): View {
  const fit = fitView(content, view);
  if (fit.k >= READABLE_ZOOM) return fit;
  const k = clampZoom(Math.max(READABLE_ZOOM, Math.min(1, view.w / content.w)));
  return { k, x: (view.w - content.w * k) / 2, y: 0 };
}

/** Moves the view so content point `(cx, cy)` sits in the middle, at the same scale. */
export function centreOn(v: View, cx: number, cy: number, view: Size): View {
  return { k: v.k, x: view.w / 2 - cx * v.k, y: view.h / 2 - cy * v.k };
}

/** True when the content rectangle (centre, size) lies wholly inside the view, with a margin in screen pixels. */
export function isInView(
  v: View,
  box: { x: number; y: number; w: number; h: number },
  view: Size,
  margin = 8,
): boolean {
  const left = v.x + (box.x - box.w / 2) * v.k;
  const top = v.y + (box.y - box.h / 2) * v.k;
  return (
    left >= margin &&
    top >= margin &&
    left + box.w * v.k <= view.w - margin &&
    top + box.h * v.k <= view.h - margin
  );
}

/** The content needs more room than the view at this scale (the minimap is worth showing). */
export function overflows(v: View, content: Size, view: Size): boolean {
  return content.w * v.k > view.w + 1 || content.h * v.k > view.h + 1;
}

/**
 * The view that shows a node (content box, centre and size): unchanged when it is in view and
 * readable; centred when it is off-screen; centred at 100% when `readable` is asked for and the scale
 * is below READABLE_ZOOM (a jump from the navigator to a node of a fitted InceptionV3).
 */
export function revealView(
  v: View,
  box: { x: number; y: number; w: number; h: number },
  view: Size,
  readable: boolean,
): View {
  if (readable && v.k < READABLE_ZOOM) return centreOn({ ...v, k: 1 }, box.x, box.y, view);
  return isInView(v, box, view) ? v : centreOn(v, box.x, box.y, view);
}
