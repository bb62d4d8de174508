/**
 * Model IR + channel graph -> what the graph view draws: one node per layer (name, class, output
 * shape, the coupled group it is coloured by, why that group is frozen) and one edge per inbound
 * link. Channel counts on the edges are computed separately from the plan (`edgeChannels`), so a
 * tick re-labels edges without touching the layout.
 *
 * Example: the sample's `conv1(16) -> bn1 -> relu1 -> pool1 -> conv2` is one group; with
 * `remove: {conv1: [0..7]}` the four edges out of conv1, bn1, relu1 and pool1 read "16 → 8".
 */
import type { ChannelGraph, TensorLayout } from '../../../core/graph/types';
import { graphWithLayouts } from '../../../core/graph/channel-flow';
import type { ModelIR, Shape } from '../../../core/ir/model-ir';
import type { PruningPlan } from '../../../core/plan/plan';

export interface GraphNode {
  name: string;
  className: string;
  /** Output shape without the batch, "28×28×32" ("?" where unknown). */
  shape: string;
  /** The group the node is coloured by: the one it produces, or the one whose channels it carries; null for none or several. */
  group: number | null;
  /** Hue (degrees) of `group`, the same for every layer of one group. */
  hue: number | null;
  /** The layer owns its group's channels (a Conv/Dense producer). */
  producer: boolean;
  /** Why `group` cannot be pruned ("its outputs are the model's output (10 classes)"); null when it can or there is none. */
  frozen: string | null;
  /** Accessible name: "conv2d_1, Conv2D, 28×28×32". */
  label: string;
}

export interface GraphEdge {
  from: string;
  to: string;
}

export interface GraphModel {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Each layer's output channel axis (its groups' slots), for `edgeChannels`. */
  layouts: Record<string, TensorLayout>;
}

/** Channels on an edge's tensor: before and after the plan. */
export interface EdgeChannels {
  before: number;
  after: number;
}

/** Spreads group hues by the golden angle, so neighbouring group ids never look alike. */
export function groupHue(groupId: number): number {
  return Math.round((groupId * 137.508 + 200) % 360);
}

/** `[null, 28, 28, 32]` -> "28×28×32"; unknown sizes read "?". */
export function formatShape(shape: Shape): string {
  const dims = shape.slice(1);
  return dims.length === 0 ? 'scalar' : dims.map((d) => (d === null ? '?' : String(d))).join('×');
}

/** The group a layer is drawn in: its own (as a producer), else the single group it passes through channel-wise. */
function colourGroup(graph: ChannelGraph, layer: string): number | null {
  const own = graph.groupByProducer[layer];
  if (own !== undefined) return own;
  const carried = (graph.groupsByLayer[layer] ?? []).filter((gid) =>
    graph.groups[gid]?.members.some((m) => m.layer === layer && m.role !== 'consumer'),
  );
  return carried.length === 1 ? carried[0]! : null;
}

/** Nodes and edges for a model, in the IR's (topological) order; links to names that are not layers are dropped. */
export function buildGraphModel(ir: ModelIR, graph: ChannelGraph): GraphModel {
  const names = new Set(ir.layers.map((l) => l.name));
  const nodes: GraphNode[] = ir.layers.map((l) => {
    const group = colourGroup(graph, l.name);
    const g = group === null ? undefined : graph.groups[group];
    const shape = formatShape(l.outputShape);
    return {
      name: l.name,
      className: l.className,
      shape,
      group,
      hue: group === null ? null : groupHue(group),
      producer: graph.groupByProducer[l.name] !== undefined,
      frozen: g && !g.prunable ? (g.reason ?? 'this group cannot be pruned') : null,
      label: `${l.name}, ${l.className}, ${shape}`,
    };
  });
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  for (const l of ir.layers) {
    for (const from of l.inbound) {
      const key = `${from}\u0000${l.name}`;
      if (!names.has(from) || seen.has(key)) continue; // Add(x, x) is drawn once
      seen.add(key);
      edges.push({ from, to: l.name });
    }
  }
  return { nodes, edges, layouts: graphWithLayouts(ir, graph).layouts };
}

/**
 * Channels on each layer's output tensor (and so on every edge leaving it) under `plan`, for the
 * layers whose count changes: `width - sum over its prunable groups' slots of removed * multiplier * spatial`
 * (the cost model's rule). A Flatten's tensor counts its flat width.
 */
export function edgeChannels(
  model: GraphModel,
  graph: ChannelGraph,
  plan: PruningPlan,
): Map<string, EdgeChannels> {
  const removed = new Map<number, number>();
  for (const [producer, channels] of Object.entries(plan.remove)) {
    const gid = graph.groupByProducer[producer];
    if (gid === undefined || !graph.groups[gid]?.prunable || channels.length === 0) continue;
    removed.set(gid, new Set(channels).size);
  }
  const out = new Map<string, EdgeChannels>();
  if (removed.size === 0) return out;
  for (const [layer, layout] of Object.entries(model.layouts)) {
    let gone = 0;
    for (const s of layout.slots) gone += (removed.get(s.group) ?? 0) * s.multiplier * s.spatial;
    if (gone > 0) out.set(layer, { before: layout.width, after: layout.width - gone });
  }
  return out;
}

/** "64 → 20". */
export function formatChannels(c: EdgeChannels): string {
  return `${c.before} → ${c.after}`;
}
