import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { layoutGraph } from './graph-layout';

describe('graph layout', () => {
  it('points every edge downwards and never overlaps two nodes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 60 }), (ins) => {
        // Layer i may read any earlier layer: a random DAG in topological order.
        const layers = ins.map((from, i) => ({
          name: `l${i}`,
          inbound: i === 0 ? [] : [...new Set(from.map((f) => `l${f % i}`))],
        }));
        const g = layoutGraph(layers);
        const byName = new Map(g.nodes.map((n) => [n.name, n]));
        for (const e of g.edges) expect(byName.get(e.to)!.rank).toBeGreaterThan(byName.get(e.from)!.rank);
        const seen = new Set(g.nodes.map((n) => `${n.x},${n.y}`));
        expect(seen.size).toBe(g.nodes.length);
        expect(g.edges.length).toBe(layers.reduce((n, l) => n + l.inbound.length, 0));
        for (const n of g.nodes) {
          expect(n.x).toBeLessThan(g.width);
          expect(n.y).toBeLessThan(g.height);
        }
      }),
    );
  });

  it('puts a residual block side by side', () => {
    const g = layoutGraph([
      { name: 'in', inbound: [] },
      { name: 'a', inbound: ['in'] },
      { name: 'b', inbound: ['a'] },
      { name: 'add', inbound: ['in', 'b'] },
    ]);
    expect(g.nodes.map((n) => n.rank)).toEqual([0, 1, 2, 3]);
  });
});
