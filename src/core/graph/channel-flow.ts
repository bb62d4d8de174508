/**
 * How channel counts and kept indices flow through the IR, read from the rules table and the channel
 * graph's layouts. Shared by the cost model (counts) and surgery (kept index lists), so both follow
 * exactly the same rules: a layer's output axis is the layout the graph found for it (its groups'
 * slots at their offsets, multipliers and Flatten positions); removing channels of a group removes
 * them from every slot of that group on every tensor.
 */
import type { LayerIR, ModelIR } from '../ir/model-ir';
import { buildChannelGraph } from './build-graph';
import {
  IDENTITY_MAP,
  behaviourOf,
  lastDim,
  ruleOf,
  type ChannelBehaviour,
  type ChannelMap,
  type LayerRule,
  type WeightSpec,
} from './layer-rules';
import type { ChannelGraph, TensorLayout } from './types';

export interface LayerFlow {
  layer: LayerIR;
  rule: LayerRule;
  /** The layer's channel behaviour (its class's, refined by its config). */
  behaviour: ChannelBehaviour;
  /** `producer`: owns its output channels; `pass`: maps its input's channels; `fixed`: merges, concat, opaque. */
  kind: 'producer' | 'pass' | 'fixed';
  /** The layer feeding this one's input channel axis (first inbound), if any. */
  source: string | undefined;
  map: ChannelMap;
  /** Original channel counts (last axis of input and output). */
  inChannels: number;
  outChannels: number;
  /** role -> spec, for this layer's weights. */
  specs: Map<string, WeightSpec>;
}

/** One flow entry per layer, in the IR's (topological) order, e.g. Flatten of `[null,5,5,8]` is `{kind:'pass', map:{inner:1, outer:25}}`. */
export function layerFlows(ir: ModelIR): LayerFlow[] {
  return ir.layers.map((layer) => {
    const rule = ruleOf(layer.className);
    const rl = { name: layer.name, className: layer.className, config: layer.config };
    const behaviour = behaviourOf(rule, rl, layer.inputShape, layer.outputShape);
    const kind =
      behaviour === 'producer'
        ? 'producer'
        : behaviour === 'channelwise' || behaviour === 'reduce-to-channels' || behaviour === 'flatten'
          ? 'pass'
          : 'fixed';
    const specs = new Map((rule.weights?.(rl, layer.inputShape) ?? []).map((s) => [s.role, s]));
    return {
      layer,
      rule,
      behaviour,
      kind,
      source: layer.inbound[0],
      map: kind === 'pass' ? (rule.channelMap?.(rl, layer.inputShape) ?? IDENTITY_MAP) : IDENTITY_MAP,
      inChannels: lastDim(layer.inputShape) ?? Number.NaN,
      outChannels: lastDim(layer.outputShape) ?? Number.NaN,
      specs,
    };
  });
}

/** The graph itself when it carries layouts, else one rebuilt from the IR (hand-written graphs in tests). */
export function graphWithLayouts(
  ir: ModelIR,
  graph: ChannelGraph,
): ChannelGraph & { layouts: Record<string, TensorLayout> } {
  const g = graph.layouts ? graph : buildChannelGraph(ir);
  return g as ChannelGraph & { layouts: Record<string, TensorLayout> };
}

/**
 * Original indices kept on a tensor's channel axis when `removed` (group id -> removed group
 * channels) are taken out, ascending; `null` when none of its slots loses anything.
 * Example: width 10 = `concat([a(4), b(6)])` with b's channels `[0, 5]` removed keeps `[0..4, 6..8]`.
 */
export function keptIndices(
  layout: TensorLayout,
  removed: ReadonlyMap<number, readonly number[]>,
): number[] | null {
  let gone: Uint8Array | null = null;
  for (const s of layout.slots) {
    const list = removed.get(s.group);
    if (!list || list.length === 0) continue;
    gone ??= new Uint8Array(layout.width);
    for (let k = 0; k < s.spatial; k++) {
      for (const c of list) {
        const base = s.offset + c * s.multiplier + s.stride * k;
        for (let j = 0; j < s.multiplier; j++) gone[base + j] = 1;
      }
    }
  }
  if (!gone) return null;
  const kept: number[] = [];
  for (let i = 0; i < layout.width; i++) if (!gone[i]) kept.push(i);
  return kept;
}
