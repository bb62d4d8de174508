import { describe, expect, it } from 'vitest';
import {
  centreOn,
  fitView,
  initialView,
  isInView,
  MAX_ZOOM,
  overflows,
  READABLE_ZOOM,
  revealView,
  zoomAt,
} from './view';

describe('view maths', () => {
  it('zooms around the pointer: the content point under it stays put', () => {
    const v = { x: 30, y: -40, k: 0.8 };
    const px = 200;
    const py = 150;
    const cx = (px - v.x) / v.k;
    const cy = (py - v.y) / v.k;
    const z = zoomAt(v, 1.25, px, py);
    expect(z.k).toBeCloseTo(1);
    expect(z.x + cx * z.k).toBeCloseTo(px);
    expect(z.y + cy * z.k).toBeCloseTo(py);
    expect(zoomAt({ x: 0, y: 0, k: 2.9 }, 10, 0, 0).k).toBe(MAX_ZOOM);
  });

  it('fits and centres a small graph at 100%, a wide one scaled down', () => {
    expect(fitView({ w: 200, h: 100 }, { w: 800, h: 600 })).toEqual({ k: 1, x: 300, y: 250 });
    const f = fitView({ w: 1600, h: 300 }, { w: 800, h: 600 });
    expect(f.k).toBe(0.5);
    expect(f.x).toBe(0);
    expect(f.y).toBe(225);
  });

  it('starts a tall graph at a readable scale from the top instead of fitting it', () => {
    const v = initialView({ w: 1300, h: 16000 }, { w: 900, h: 700 });
    expect(v.k).toBeCloseTo(900 / 1300);
    expect(v.y).toBe(0);
    expect(initialView({ w: 3000, h: 16000 }, { w: 900, h: 700 }).k).toBe(READABLE_ZOOM);
  });

  it('centres on a point and tells whether a box is in view', () => {
    const size = { w: 800, h: 600 };
    const v = centreOn({ x: 0, y: 0, k: 2 }, 1000, 2000, size);
    expect(v.x + 1000 * v.k).toBe(400);
    expect(v.y + 2000 * v.k).toBe(300);
    expect(isInView(v, { x: 1000, y: 2000, w: 176, h: 46 }, size)).toBe(true);
    expect(isInView(v, { x: 1300, y: 2000, w: 176, h: 46 }, size)).toBe(false);
    expect(overflows({ x: 0, y: 0, k: 1 }, { w: 700, h: 500 }, size)).toBe(false);
    expect(overflows({ x: 0, y: 0, k: 1.2 }, { w: 700, h: 500 }, size)).toBe(true);
  });
});

describe('revealView', () => {
  const size = { w: 800, h: 600 };
  const box = { x: 1000, y: 5000, w: 224, h: 46 };
  it('leaves a readable node in view alone, pans to one off-screen, zooms a tiny one to 100%', () => {
    const inView = centreOn({ x: 0, y: 0, k: 0.8 }, 1000, 5000, size);
    expect(revealView(inView, box, size, true)).toBe(inView);
    const off = revealView({ x: 0, y: 0, k: 0.8 }, box, size, false);
    expect(off).toEqual({ k: 0.8, x: 400 - 800, y: 300 - 4000 });
    const tiny = { x: 380, y: 100, k: 0.04 };
    expect(revealView(tiny, box, size, false)).toBe(tiny); // after a click: no zoom
    expect(revealView(tiny, box, size, true)).toEqual({ k: 1, x: -600, y: -4700 });
  });
});
