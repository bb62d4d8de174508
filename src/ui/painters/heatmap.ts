/**
 * Pure painter for filter-importance heatmaps (after tensorflow/playground heatmap.ts): each filter is
 * a small block of pixels in an RGBA buffer; CSS scales the canvas with `image-rendering: pixelated`,
 * and hit-testing is arithmetic. No DOM here, so it is unit-testable and cheap for 1,024 filters.
 */

/** Pixels per filter cell side in the backing buffer: a 1-px ring and a 2x2 core. */
export const CELL = 4;

export interface HeatmapLayout {
  cols: number;
  rows: number;
  width: number;
  height: number;
}

/** Columns/rows for n filters: one row up to 32, then rows of 32 (64 past 512 filters). */
export function layoutHeatmap(n: number): HeatmapLayout {
  const cols = Math.max(1, n <= 32 ? n : n <= 512 ? 32 : 64);
  const rows = Math.max(1, Math.ceil(n / cols));
  return { cols, rows, width: cols * CELL, height: rows * CELL };
}

/** Sequential scale for importance, pale (low) to deep blue (high); t in [0, 1]. */
export function importanceColor(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [247, 251, 255],
    [198, 219, 239],
    [107, 174, 214],
    [33, 113, 181],
    [8, 48, 107],
  ];
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

const SELECTED: [number, number, number] = [224, 36, 94];
const FOCUS: [number, number, number] = [255, 170, 0];
const EMPTY: [number, number, number] = [235, 235, 235];

/**
 * Paints scores into an RGBA buffer of `layout.width * layout.height` pixels. Scores are min-max
 * normalised within the layer; selected filters get a red core, the focused one an amber ring.
 */
export function paintHeatmap(
  scores: ArrayLike<number>,
  selected: ReadonlySet<number>,
  focus: number | null,
  layout: HeatmapLayout = layoutHeatmap(scores.length),
): Uint8ClampedArray {
  const { cols, width, height } = layout;
  const px = new Uint8ClampedArray(width * height * 4);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const span = hi > lo ? hi - lo : 1;
  const cells = layout.cols * layout.rows;
  for (let i = 0; i < cells; i++) {
    const cx = (i % cols) * CELL;
    const cy = Math.floor(i / cols) * CELL;
    const base = i < scores.length ? importanceColor((scores[i]! - lo) / span) : EMPTY;
    const ring = i === focus ? FOCUS : base;
    const core = selected.has(i) ? SELECTED : base;
    for (let dy = 0; dy < CELL; dy++) {
      for (let dx = 0; dx < CELL; dx++) {
        const inner = dx > 0 && dx < CELL - 1 && dy > 0 && dy < CELL - 1;
        const c = inner ? core : ring;
        const o = ((cy + dy) * width + cx + dx) * 4;
        px[o] = c[0];
        px[o + 1] = c[1];
        px[o + 2] = c[2];
        px[o + 3] = 255;
      }
    }
  }
  return px;
}

/** The filter index under a point given in CSS pixels of a canvas drawn `cssWidth` x `cssHeight`. */
export function hitTest(
  layout: HeatmapLayout,
  n: number,
  x: number,
  y: number,
  cssWidth: number,
  cssHeight: number,
): number | null {
  const col = Math.floor((x / cssWidth) * layout.cols);
  const row = Math.floor((y / cssHeight) * layout.rows);
  if (col < 0 || row < 0 || col >= layout.cols || row >= layout.rows) return null;
  const i = row * layout.cols + col;
  return i < n ? i : null;
}
