/**
 * BatchNorm scale (Network Slimming, Liu et al. ICCV 2017): the importance of channel j is
 * `|gamma_j|` of the BatchNormalization that follows its producer, since BN's output for that
 * channel is `gamma_j * xhat + beta_j` and a small gamma makes the channel nearly constant.
 */
import type { ModelArtifactsData } from '../ir/artifacts';
import type { LayerIR } from '../ir/model-ir';
import type { ChannelGroup, GroupMember } from '../graph/types';
import { memberIndices } from '../graph/build-graph';

/**
 * `|gamma|` of a BN member per group channel, or undefined when the BN has no gamma (`scale: false`,
 * as in Keras' InceptionV3). A BN behind a depthwise multiplier m (or reading the group in several
 * slots) sums its m entries per group channel. Example: gamma `[-2, 0.5, 1]` on a 3-channel group gives `[2, 0.5, 1]`.
 */
export function bnScales(
  group: ChannelGroup,
  member: GroupMember,
  layer: LayerIR,
  artifacts: ModelArtifactsData,
): Float32Array | undefined {
  const ref = layer.weights.find((w) => w.role === 'gamma');
  const gamma = ref && artifacts.weights[ref.weightIndex];
  if (!gamma || gamma.shape.length !== 1) return undefined;
  const out = new Float32Array(group.size);
  for (let g = 0; g < group.size; g++) {
    let s = 0;
    for (const i of memberIndices(group, member, [g])) s += Math.abs(gamma.values[i] ?? 0);
    out[g] = s;
  }
  return out;
}

/**
 * `|gamma|` of every BatchNormalization of the group (its channel-wise members with a gamma), one
 * term per BN in topological order; empty when the group has none. A residual stage gets one term
 * per branch BN; MobileNet's expansion group gets its `expand_BN` and `depthwise_BN`.
 */
export function groupBnScales(
  group: ChannelGroup,
  byName: ReadonlyMap<string, LayerIR>,
  artifacts: ModelArtifactsData,
): Float32Array[] {
  const terms: Float32Array[] = [];
  for (const m of group.members) {
    const layer = byName.get(m.layer);
    if (m.role !== 'channelwise' || layer?.className !== 'BatchNormalization') continue;
    const s = bnScales(group, m, layer, artifacts);
    if (s) terms.push(s);
  }
  return terms;
}
