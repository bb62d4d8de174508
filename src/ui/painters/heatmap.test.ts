import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CELL,
  GUTTER,
  MARK,
  fadedColor,
  filtersBelow,
  histogram,
  hitTest,
  importanceColor,
  layoutHeatmap,
  paintHeatmap,
  scoreRange,
  sortedOrder,
} from './heatmap';

const at = (px: Uint8ClampedArray, n: number, cell: number, dx: number, dy: number) => {
  const l = layoutHeatmap(n);
  const o = ((Math.floor(cell / l.cols) * CELL + dy) * l.width + (cell % l.cols) * CELL + dx) * 4;
  return [px[o], px[o + 1], px[o + 2]];
};

describe('heatmap painter', () => {
  it('lays out every filter exactly once', () => {
    for (let n = 1; n <= 1100; n += 37) {
      const l = layoutHeatmap(n);
      expect(l.cols * l.rows).toBeGreaterThanOrEqual(n);
      expect(l.cols * (l.rows - 1)).toBeLessThan(n);
    }
  });

  it('hit-tests the centre of every cell back to its position', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 700 }), fc.integer({ min: 1, max: 4 }), (n, scale) => {
        const l = layoutHeatmap(n);
        for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 40))) {
          const x = ((i % l.cols) + 0.5) * CELL * scale;
          const y = (Math.floor(i / l.cols) + 0.5) * CELL * scale;
          expect(hitTest(l, n, x, y, l.width * scale, l.height * scale)).toBe(i);
        }
      }),
    );
  });

  it('the lowest score is the darkest colour, far from the white page; the highest the lightest', () => {
    const lum = (c: number[]) => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
    expect(lum(importanceColor(0))).toBeLessThan(60);
    expect(lum(importanceColor(1))).toBeGreaterThan(200);
    for (let t = 0; t < 1; t += 0.05)
      expect(lum(importanceColor(t + 0.05))).toBeGreaterThan(lum(importanceColor(t)));
  });

  it('colours by score, marks selected filters with an outline and a cross over a faded cell', () => {
    const px = paintHeatmap([1, 5, 3], new Set([2]), null);
    expect(at(px, 3, 0, 2, 1)).toEqual(importanceColor(0));
    expect(at(px, 3, 1, 2, 1)).toEqual(importanceColor(1));
    expect(at(px, 3, 2, 0, 3)).toEqual(MARK); // outline
    expect(at(px, 3, 2, 3, 3)).toEqual(MARK); // centre of the cross
    expect(at(px, 3, 2, 2, 1)).toEqual(fadedColor(importanceColor(0.5))); // faded fill
    expect(at(px, 3, 0, CELL - 1, 2)).toEqual(GUTTER);
  });

  it('a global range compares layers; a sorted order puts the lowest first', () => {
    const scores = [4, 1, 3, 2];
    const order = sortedOrder(scores);
    expect(order).toEqual([1, 3, 2, 0]);
    const px = paintHeatmap(scores, new Set(), null, layoutHeatmap(4), { order, range: [0, 8] });
    expect(at(px, 4, 0, 2, 2)).toEqual(importanceColor(1 / 8));
    expect(at(px, 4, 3, 2, 2)).toEqual(importanceColor(4 / 8));
    expect(scoreRange([3, NaN, -1])).toEqual([-1, 3]);
  });

  it('a histogram counts every finite score once; filtersBelow is the threshold selection', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 1, max: 30 }),
        (s, bins) => {
          const h = histogram(s, bins, scoreRange(s));
          expect(h.reduce((a, b) => a + b, 0)).toBe(s.length);
          const t = s[0]!;
          expect(filtersBelow(s, t)).toEqual(s.flatMap((v, i) => (v < t ? [i] : [])));
        },
      ),
    );
  });
});
