import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CELL, hitTest, importanceColor, layoutHeatmap, paintHeatmap } from './heatmap';

describe('heatmap painter', () => {
  it('lays out every filter exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2048 }), (n) => {
        const l = layoutHeatmap(n);
        expect(l.cols * l.rows).toBeGreaterThanOrEqual(n);
        expect(l.cols * (l.rows - 1)).toBeLessThan(n);
      }),
    );
  });

  it('hit-tests the centre of every cell back to its index', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 5 }), (n, scale) => {
        const l = layoutHeatmap(n);
        for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 17))) {
          const x = ((i % l.cols) + 0.5) * CELL * scale;
          const y = (Math.floor(i / l.cols) + 0.5) * CELL * scale;
          expect(hitTest(l, n, x, y, l.width * scale, l.height * scale)).toBe(i);
        }
      }),
    );
  });

  it('colours the lowest score palest and the highest darkest, selected cores red', () => {
    const px = paintHeatmap([1, 5, 3], new Set([2]), null);
    const l = layoutHeatmap(3);
    const at = (cell: number, dx: number, dy: number) => {
      const o = ((Math.floor(cell / l.cols) * CELL + dy) * l.width + (cell % l.cols) * CELL + dx) * 4;
      return [px[o], px[o + 1], px[o + 2]];
    };
    expect(at(0, 1, 1)).toEqual(importanceColor(0));
    expect(at(1, 1, 1)).toEqual(importanceColor(1));
    expect(at(2, 1, 1)).toEqual([224, 36, 94]);
    expect(at(2, 0, 0)).toEqual(importanceColor(0.5));
  });
});
