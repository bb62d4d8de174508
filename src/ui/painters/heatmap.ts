/**
 * Pure painter for filter-importance heatmaps (after tensorflow/playground heatmap.ts): each filter is
 * a block of pixels in an RGBA buffer; CSS scales the canvas with `image-rendering: pixelated`, and
 * hit-testing is arithmetic. No DOM here, so it is unit-testable and cheap for 1,024 filters.
 *
 * Colour: a perceptually uniform sequential scale (viridis: dark violet = lowest, yellow = highest),
 * so the lowest scores, the ones a user cuts, are the most visible against the page, never near-white.
 * Selected filters are marked by shape as well as colour (a cross and an outline over a faded cell),
 * for colour-blind users.
 */

/** Pixels per filter cell side in the backing buffer: 7 px of cell and a 1-px gutter. */
export const CELL = 8;
const INNER = CELL - 1;

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

/** Viridis stops (matplotlib), low to high. */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [65, 68, 135],
  [42, 120, 142],
  [34, 168, 132],
  [122, 209, 81],
  [253, 231, 37],
];

/** Sequential scale for importance, dark violet (low) to yellow (high); t in [0, 1]. */
export function importanceColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

/** CSS `linear-gradient` of the scale, for the legend. */
export function importanceGradientCss(): string {
  return `linear-gradient(to right, ${STOPS.map((c, i) => `rgb(${c.join(',')}) ${Math.round((100 * i) / (STOPS.length - 1))}%`).join(', ')})`;
}

export const GUTTER: [number, number, number] = [255, 255, 255];
export const MARK: [number, number, number] = [17, 17, 17];
const FOCUS: [number, number, number] = [255, 122, 0];
const EMPTY: [number, number, number] = [238, 238, 238];

/** A selected cell's fill: its colour faded towards white, so the cross reads on every colour. */
export function fadedColor(c: readonly [number, number, number]): [number, number, number] {
  return [0, 1, 2].map((k) => Math.round(c[k]! + (255 - c[k]!) * 0.6)) as [number, number, number];
}

/** Min and max of finite scores ([0, 1] when there are none). */
export function scoreRange(scores: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) continue;
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** Filter indices by ascending score (ties by index): position p of a sorted heatmap shows `order[p]`. */
export function sortedOrder(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
}

export interface PaintOptions {
  /** Score range the colours span (default: this layer's min and max; pass a global one to compare layers). */
  range?: readonly [number, number];
  /** Filter shown at each position (default: index order). */
  order?: readonly number[];
}

/**
 * Paints scores into an RGBA buffer of `layout.width * layout.height` pixels. Position p shows filter
 * `order[p]`; a selected filter is a faded cell with a dark outline and a cross, the focused one an
 * orange ring.
 */
export function paintHeatmap(
  scores: ArrayLike<number>,
  selected: ReadonlySet<number>,
  focus: number | null,
  layout: HeatmapLayout = layoutHeatmap(scores.length),
  opts: PaintOptions = {},
): Uint8ClampedArray {
  const { cols, width, height } = layout;
  const px = new Uint8ClampedArray(width * height * 4);
  const [lo, hi] = opts.range ?? scoreRange(scores);
  const span = hi > lo ? hi - lo : 1;
  const cells = layout.cols * layout.rows;
  for (let p = 0; p < cells; p++) {
    const i = p < scores.length ? (opts.order?.[p] ?? p) : -1;
    const cx = (p % cols) * CELL;
    const cy = Math.floor(p / cols) * CELL;
    const base = i >= 0 ? importanceColor((scores[i]! - lo) / span) : EMPTY;
    const sel = i >= 0 && selected.has(i);
    const fill = sel ? fadedColor(base) : base;
    for (let dy = 0; dy < CELL; dy++) {
      for (let dx = 0; dx < CELL; dx++) {
        let c = fill;
        if (dx === INNER || dy === INNER) c = GUTTER;
        else {
          const edge = dx === 0 || dy === 0 || dx === INNER - 1 || dy === INNER - 1;
          if (i === focus && edge) c = FOCUS;
          else if (sel && (edge || dx === dy || dx === INNER - 1 - dy)) c = MARK;
        }
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

/** The position (cell) under a point given in CSS pixels of a canvas drawn `cssWidth` x `cssHeight`. */
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

/** Counts of scores in `bins` equal bins over `range`: the per-layer histogram. */
export function histogram(
  scores: ArrayLike<number>,
  bins: number,
  range: readonly [number, number],
): number[] {
  const out = new Array<number>(bins).fill(0);
  const [lo, hi] = range;
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((s - lo) / span) * bins)));
    out[b]!++;
  }
  return out;
}

/** Filters whose score is strictly below `threshold`. */
export function filtersBelow(scores: ArrayLike<number>, threshold: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! < threshold) out.push(i);
  return out;
}
