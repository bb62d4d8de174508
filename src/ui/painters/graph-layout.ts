/**
 * Pure layered layout for the compact graph view: a layer's rank is the longest path from an input,
 * so every edge points down; within a rank, layers keep the model's order. Linear in layers + edges,
 * so a 300-layer InceptionV3 lays out in well under a millisecond.
 */

export interface GraphNodeIn {
  name: string;
  inbound: readonly string[];
}

export interface GraphNodeOut {
  name: string;
  rank: number;
  slot: number;
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: GraphNodeOut[];
  edges: { from: string; to: string }[];
  width: number;
  height: number;
}

export const NODE_W = 132;
export const NODE_H = 18;
const GAP_X = 12;
const GAP_Y = 10;

/** Lays out layers given in topological order (as the IR lists them). */
export function layoutGraph(layers: readonly GraphNodeIn[]): GraphLayout {
  const rank = new Map<string, number>();
  const edges: { from: string; to: string }[] = [];
  for (const l of layers) {
    let r = 0;
    for (const from of l.inbound) {
      const fr = rank.get(from);
      if (fr === undefined) continue; // an input not listed as a layer
      r = Math.max(r, fr + 1);
      edges.push({ from, to: l.name });
    }
    rank.set(l.name, r);
  }
  const perRank = new Map<number, number>();
  const nodes: GraphNodeOut[] = layers.map((l) => {
    const r = rank.get(l.name) ?? 0;
    const slot = perRank.get(r) ?? 0;
    perRank.set(r, slot + 1);
    return { name: l.name, rank: r, slot, x: slot * (NODE_W + GAP_X), y: r * (NODE_H + GAP_Y) };
  });
  const maxSlots = Math.max(1, ...perRank.values());
  const ranks = Math.max(1, ...[...rank.values()].map((r) => r + 1));
  return {
    nodes,
    edges,
    width: maxSlots * (NODE_W + GAP_X),
    height: ranks * (NODE_H + GAP_Y),
  };
}
