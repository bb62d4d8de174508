/**
 * The rules table as the channel graph, the cost model and surgery read it: the table itself (one
 * row per layer class, in `ir/layer-rules.ts`, where the IR builder can reach it) and the helpers only
 * the channel side needs: a layer's behaviour refined by its config, and kept indices through a
 * channel map.
 */
import type { Shape } from '../ir/model-ir';
import type { ChannelBehaviour, ChannelMap, LayerRule, RuleLayer } from '../ir/layer-rules';

export * from '../ir/layer-rules';

/** The channel behaviour of one layer: its class's, refined by its config (`Reshape` keeping the channel axis). */
export function behaviourOf(
  rule: LayerRule,
  layer: RuleLayer,
  inputShape: Shape,
  outputShape: Shape,
): ChannelBehaviour {
  return rule.behaviourOf?.(layer, inputShape, outputShape) ?? rule.behaviour;
}

/** Identity map (`c -> c`), for layers without `channelMap`. */
export const IDENTITY_MAP: ChannelMap = { inner: 1, outer: 1 };

/**
 * Expands kept channel indices through a channel map, in the new (ascending) order:
 * `expandKept([0, 2], 3, 2, 1)` (depthwise m=2) is `[0, 1, 4, 5]`;
 * `expandKept([1], 2, 1, 3)` (Flatten of `[.., 3 positions, 2 channels]`) is `[1, 3, 5]` (`c + C*k`).
 */
export function expandKept(kept: readonly number[], width: number, inner: number, outer: number): number[] {
  if (inner === 1 && outer === 1) return [...kept];
  const out: number[] = [];
  const block = width * inner;
  for (let k = 0; k < outer; k++) {
    for (const c of kept) {
      for (let j = 0; j < inner; j++) out.push(k * block + c * inner + j);
    }
  }
  return out;
}
