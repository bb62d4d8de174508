/**
 * How channel counts flow through the IR, layer by layer, read from the rules table. Shared by the
 * cost model (counts) and surgery (kept index lists), so both follow exactly the same rules:
 * a producer's output channels are its own; a pass-through layer maps its input channels with its
 * `ChannelMap` (DepthwiseConv2D multiplies by m, Flatten repeats per position); anything else keeps
 * its original channels (merges and opaque layers are behind unprunable groups).
 */
import type { LayerIR, ModelIR } from '../ir/model-ir';
import {
  IDENTITY_MAP,
  lastDim,
  ruleFor,
  type ChannelMap,
  type LayerRule,
  type WeightSpec,
} from './layer-rules';

export interface LayerFlow {
  layer: LayerIR;
  rule: LayerRule;
  /** `producer`: owns its output channels; `pass`: maps its input's channels; `fixed`: unchanged by pruning. */
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
    const rule = ruleFor(layer.className);
    if (!rule) throw new Error(`No rule for class '${layer.className}' of layer '${layer.name}'.`);
    const b = rule.behaviour;
    const kind =
      b === 'producer'
        ? 'producer'
        : b === 'channelwise' || b === 'reduce-to-channels' || b === 'flatten'
          ? 'pass'
          : 'fixed';
    const rl = { name: layer.name, className: layer.className, config: layer.config };
    const specs = new Map((rule.weights?.(rl, layer.inputShape) ?? []).map((s) => [s.role, s]));
    return {
      layer,
      rule,
      kind,
      source: layer.inbound[0],
      map: kind === 'pass' ? (rule.channelMap?.(rl, layer.inputShape) ?? IDENTITY_MAP) : IDENTITY_MAP,
      inChannels: lastDim(layer.inputShape) ?? Number.NaN,
      outChannels: lastDim(layer.outputShape) ?? Number.NaN,
      specs,
    };
  });
}
