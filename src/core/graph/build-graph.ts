/**
 * IR -> channel graph: one group per producer (Conv/Dense...), found by walking forward through
 * channel-wise layers to the next consumers. Groups that cannot be pruned say why, in words.
 */
import type { LayerIR, ModelIR } from '../ir/model-ir';
import { IDENTITY_MAP, lastDim, ruleFor, type RuleLayer } from './layer-rules';
import type { ChannelGraph, ChannelGroup, GroupMember } from './types';

function ruleLayer(l: LayerIR): RuleLayer {
  return { name: l.name, className: l.className, config: l.config };
}

function unitWord(className: string | undefined, n: number): string {
  const one = n === 1;
  if (className === 'Dense') return one ? 'unit' : 'units';
  if (className !== undefined && /Conv/.test(className)) return one ? 'filter' : 'filters';
  return one ? 'channel' : 'channels';
}

interface WalkState {
  layer: LayerIR;
  multiplier: number;
  spatial: number;
}

function walkGroup(
  producer: LayerIR,
  id: number,
  outbound: Map<string, LayerIR[]>,
  outputs: Set<string>,
): ChannelGroup {
  const rule = ruleFor(producer.className)!;
  const size = lastDim(producer.outputShape) ?? Number.NaN;
  const who = `${producer.className} '${producer.name}'`;
  const members: GroupMember[] = [{ layer: producer.name, role: 'producer', className: producer.className }];
  const caveats: string[] = [];
  let reason: string | undefined;
  const block = (why: string) => {
    reason ??= why;
  };

  const own = rule.blocker?.(ruleLayer(producer), producer.inputShape);
  if (own) block(`${who} ${own}, which PruneLab cannot prune yet.`);
  const ownCaveat = rule.caveat?.(ruleLayer(producer), producer.inputShape);
  if (ownCaveat) caveats.push(`${who}: ${ownCaveat}.`);
  if (!(size > 0)) block(`${who} has an unknown number of output channels.`);

  const seen = new Set<string>([producer.name]);
  const queue: WalkState[] = [{ layer: producer, multiplier: 1, spatial: 1 }];
  while (queue.length > 0) {
    const cur = queue.shift()!;
    if (outputs.has(cur.layer.name)) {
      block(
        cur.layer === producer
          ? `${who} produces the model's output (${size} ${size === 1 ? 'value' : 'values'}), so none can be removed.`
          : `${who} reaches the model's output through '${cur.layer.name}', so none of its ${size} ${unitWord(producer.className, size)} can be removed.`,
      );
    }
    for (const next of outbound.get(cur.layer.name) ?? []) {
      if (seen.has(next.name)) continue;
      seen.add(next.name);
      const nr = ruleFor(next.className)!;
      const where = `${next.className} '${next.name}'`;
      const mapping: Pick<GroupMember, 'multiplier' | 'spatial'> = {};
      if (cur.multiplier !== 1) mapping.multiplier = cur.multiplier;
      if (cur.spatial !== 1) mapping.spatial = cur.spatial;
      const blocker = nr.blocker?.(ruleLayer(next), next.inputShape);
      switch (nr.behaviour) {
        case 'producer':
          if (blocker) block(`${who} feeds ${where}, which ${blocker}.`);
          members.push({ layer: next.name, role: 'consumer', className: next.className, ...mapping });
          break;
        case 'channelwise':
        case 'reduce-to-channels':
        case 'flatten': {
          if (blocker) {
            block(`${who} feeds ${where}, which ${blocker}.`);
            break;
          }
          const caveat = nr.caveat?.(ruleLayer(next), next.inputShape);
          if (caveat) caveats.push(`${where}: ${caveat}.`);
          members.push({ layer: next.name, role: 'channelwise', className: next.className, ...mapping });
          const map = nr.channelMap?.(ruleLayer(next), next.inputShape) ?? IDENTITY_MAP;
          if (map.inner !== 1 && cur.spatial !== 1) {
            block(`${who} reaches ${where} after a Flatten, which PruneLab cannot follow.`);
            break;
          }
          queue.push({
            layer: next,
            multiplier: cur.multiplier * map.inner,
            spatial: cur.spatial * map.outer,
          });
          break;
        }
        case 'input':
        case 'elementwise':
        case 'concat':
        case 'opaque':
          block(`${who} feeds ${where}, which ${blocker ?? 'PruneLab cannot prune through yet'}.`);
          break;
      }
    }
  }
  const group: ChannelGroup = { id, producer: producer.name, size, members, prunable: reason === undefined };
  if (reason !== undefined) group.reason = reason;
  if (caveats.length > 0) group.caveats = caveats;
  return group;
}

/**
 * Finds every producer's group of coupled channels, walking forward through channel-wise layers.
 * Example: `conv1(8) -> bn1 -> relu1 -> pool1 -> conv2(16) -> flatten -> logits(10)` gives
 * group 0 `{producer conv1, size 8, members conv1, bn1, relu1, pool1, conv2 (consumer)}`, group 1
 * `{conv2 -> flatten -> logits (consumer, spatial h*w)}` and group 2 `{logits}`, unprunable because
 * it produces the model's output.
 */
export function buildChannelGraph(ir: ModelIR): ChannelGraph {
  const outbound = new Map<string, LayerIR[]>();
  for (const l of ir.layers) {
    for (const from of l.inbound) {
      const list = outbound.get(from) ?? [];
      list.push(l);
      outbound.set(from, list);
    }
  }
  const outputs = new Set(ir.outputs);
  const groups: ChannelGroup[] = [];
  for (const l of ir.layers) {
    if (ruleFor(l.className)?.behaviour !== 'producer') continue;
    groups.push(walkGroup(l, groups.length, outbound, outputs));
  }
  const groupByProducer: Record<string, number> = {};
  const groupsByLayer: Record<string, number[]> = {};
  for (const g of groups) {
    groupByProducer[g.producer] = g.id;
    for (const m of g.members) (groupsByLayer[m.layer] ??= []).push(g.id);
  }
  const layerClasses: Record<string, string> = {};
  for (const l of ir.layers) layerClasses[l.name] = l.className;
  return { groups, groupByProducer, groupsByLayer, layerClasses };
}

/**
 * The group as one readable line, e.g.
 * `"conv2 (16 filters) -> bn2 -> relu2 -> pool2 -> flatten -> dense1 input rows"`.
 */
export function describeGroup(group: ChannelGroup): string {
  return group.members
    .map((m) => {
      if (m.role === 'producer') return `${m.layer} (${group.size} ${unitWord(m.className, group.size)})`;
      if (m.role === 'consumer')
        return `${m.layer} ${m.className === 'Dense' ? 'input rows' : 'input channels'}`;
      return m.layer;
    })
    .join(' -> ');
}
