import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { edgePath, layoutGraph, LABEL_H, LABEL_W, MARGIN, NODE_H, NODE_W } from './layout';

function overlaps(a: { x: number; y: number }, b: { x: number; y: number }, w: number, h: number): boolean {
  return Math.abs(a.x - b.x) < w && Math.abs(a.y - b.y) < h;
}

describe('layoutGraph (dagre)', () => {
  it('points every edge down, never overlaps two nodes and keeps everything inside its size', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 40 }), (ins) => {
        // Layer i may read any earlier layer: a random DAG in topological order.
        const nodes = ins.map((_, i) => ({ name: `l${i}` }));
        const edges = ins.flatMap((from, i) =>
          i === 0 ? [] : [...new Set(from.map((f) => f % i))].map((f) => ({ from: `l${f}`, to: `l${i}` })),
        );
        const g = layoutGraph({ nodes, edges });
        expect(g.nodes).toHaveLength(nodes.length);
        expect(g.edges).toHaveLength(edges.length);
        edges.forEach((e, i) => {
          const a = g.nodes[Number(e.from.slice(1))]!;
          const b = g.nodes[Number(e.to.slice(1))]!;
          expect(b.y).toBeGreaterThan(a.y);
          const pts = g.edges[i]!.points;
          expect(pts.length).toBeGreaterThanOrEqual(2);
          // From the source's bottom to the target's top.
          expect(pts[0]!.y).toBeCloseTo(a.y + NODE_H / 2, 0);
          expect(pts[pts.length - 1]!.y).toBeCloseTo(b.y - NODE_H / 2, 0);
        });
        for (let i = 0; i < g.nodes.length; i++) {
          const n = g.nodes[i]!;
          expect(n.x - NODE_W / 2).toBeGreaterThanOrEqual(MARGIN - 0.5);
          expect(n.y + NODE_H / 2).toBeLessThanOrEqual(g.height);
          for (let j = 0; j < i; j++) expect(overlaps(n, g.nodes[j]!, NODE_W, NODE_H)).toBe(false);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps edge labels off the nodes', () => {
    const nodes = ['in', 'a', 'b', 'c', 'add'].map((name) => ({ name }));
    const edges = [
      { from: 'in', to: 'a' },
      { from: 'a', to: 'b' },
      { from: 'in', to: 'c' },
      { from: 'b', to: 'add' },
      { from: 'c', to: 'add' },
    ];
    const g = layoutGraph({ nodes, edges });
    for (const e of g.edges) {
      for (const n of g.nodes) {
        expect(overlaps(e.label, n, (NODE_W + LABEL_W) / 2, (NODE_H + LABEL_H) / 2)).toBe(false);
      }
    }
    // The residual: 'add' is below both branches, which sit side by side.
    expect(g.nodes[4]!.y).toBeGreaterThan(Math.max(g.nodes[2]!.y, g.nodes[3]!.y));
    expect(Math.abs(g.nodes[3]!.x - g.nodes[2]!.x)).toBeGreaterThanOrEqual(NODE_W);
    expect(g.ms).toBeGreaterThan(0);
  });
});

describe('edgePath', () => {
  it('draws a line for two points and a B-spline from the first to the last point otherwise', () => {
    expect(edgePath([])).toBe('');
    expect(
      edgePath([
        { x: 0, y: 0 },
        { x: 10, y: 20 },
      ]),
    ).toBe('M0,0L10,20');
    const d = edgePath([
      { x: 0, y: 0 },
      { x: 60, y: 60 },
      { x: 0, y: 120 },
    ]);
    expect(d.startsWith('M0,0L10,10C')).toBe(true);
    expect(d.endsWith('L0,120')).toBe(true);
    expect(d.match(/C/g)).toHaveLength(2);
  });
});
