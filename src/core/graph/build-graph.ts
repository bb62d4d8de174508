/**
 * IR -> channel graph, for any Keras DAG (DepGraph's idea, Fang et al. CVPR 2023, on Keras classes).
 *
 * Every tensor's channel axis is described as a list of *pieces*, each a whole *channel space*: the
 * output channels of one producer (Conv/Dense...), of the model's input, or of a layer PruneLab cannot
 * see through. One pass in topological order follows the rules table: a channel-wise layer maps its
 * input's pieces (DepthwiseConv2D multiplies them by m, Flatten repeats them per position), a
 * Concatenate places its inputs' pieces at offsets, and an elementwise merge requires its inputs to be
 * laid out alike and joins their spaces piece by piece (union-find). A group is a class of joined
 * spaces holding at least one producer; it is frozen (unprunable, with the reason in words) when one of
 * its spaces reaches a model output, is joined with the model's input or an unknown layer's output, or
 * feeds a layer that cannot lose channels (a grouped convolution, a Reshape that mixes channels, a Lambda).
 */
import type { LayerIR, ModelIR } from '../ir/model-ir';
import {
  IDENTITY_MAP,
  behaviourOf,
  concatsChannels,
  lastDim,
  ruleOf,
  type ChannelBehaviour,
  type RuleLayer,
  unitWord,
} from './layer-rules';
import type {
  ChannelGraph,
  ChannelGroup,
  ChannelSlot,
  GroupMember,
  LayoutSlot,
  MemberRole,
  TensorLayout,
} from './types';

function ruleLayer(l: LayerIR): RuleLayer {
  return { name: l.name, className: l.className, config: l.config };
}

/** A layer as reasons name it; an imported one with its source op and node: `Permute 'x' (ONNX Transpose node '/s/Transpose')`. */
function whereText(layer: LayerIR, format: string | undefined): string {
  const own = `${layer.className} '${layer.name}'`;
  const from = format === undefined ? '' : `${format.toUpperCase()} `;
  return layer.origin ? `${own} (${from}${layer.origin.op} node '${layer.origin.node}')` : own;
}

/** A channel space: the channels of one producer's output, the model's input, or an opaque layer's output. */
interface Space {
  size: number;
  kind: 'producer' | 'input' | 'fixed';
  layer: LayerIR;
}

/** A space on a tensor's channel axis: its channel c at `start + c*mult + j + stride*k`, `j < mult`, `k < rep`. */
interface Piece {
  space: number;
  start: number;
  mult: number;
  rep: number;
  stride: number;
}

/** A tensor's channel axis: `width` channels (NaN when unknown: then no pieces) made of `pieces`. */
interface Layout {
  width: number;
  pieces: Piece[];
}

/** The producer a sentence speaks about. */
interface Who {
  name: string;
  className: string;
  size: number;
}

interface SpaceEvent {
  space: number;
  text: (who: Who) => string;
}

function whoText(w: Who): string {
  return `${w.className} '${w.name}'`;
}

/** Union-find over channel spaces, remembering one non-producer space ("anchor") per class. */
class SpaceSets {
  private readonly parent: number[] = [];
  private readonly anchor: number[] = [];

  add(kind: Space['kind']): number {
    const id = this.parent.length;
    this.parent.push(id);
    this.anchor.push(kind === 'producer' ? -1 : id);
    return id;
  }

  find(x: number): number {
    let r = x;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[x] !== r) {
      const next = this.parent[x]!;
      this.parent[x] = r;
      x = next;
    }
    return r;
  }

  /** Joins two classes; returns the anchor of the joined class (or -1), and whether anything changed. */
  union(a: number, b: number): { changed: boolean; anchor: number } {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return { changed: false, anchor: this.anchor[ra]! };
    this.parent[rb] = ra;
    const anchor = this.anchor[ra]! >= 0 ? this.anchor[ra]! : this.anchor[rb]!;
    this.anchor[ra] = anchor;
    return { changed: true, anchor };
  }
}

/**
 * The (space, channel) behind every index of a layout, or `undefined` when some index has no known
 * origin. Example: DepthwiseConv2D (m=2) of a 3-channel space `s` gives `s:0, s:0, s:1, s:1, s:2, s:2`.
 */
function origins(
  l: Layout,
  spaces: readonly Space[],
): { space: Int32Array; channel: Int32Array } | undefined {
  if (!(Number.isInteger(l.width) && l.width > 0)) return undefined;
  const space = new Int32Array(l.width).fill(-1);
  const channel = new Int32Array(l.width);
  for (const p of l.pieces) {
    const size = spaces[p.space]!.size;
    for (let k = 0; k < p.rep; k++) {
      for (let c = 0; c < size; c++) {
        for (let j = 0; j < p.mult; j++) {
          const i = p.start + c * p.mult + j + p.stride * k;
          space[i] = p.space;
          channel[i] = c;
        }
      }
    }
  }
  return space.includes(-1) ? undefined : { space, channel };
}

/** Drops defaults so that simple cases read `{layer, role, className}` as they always did. */
function memberOf(layer: LayerIR, role: MemberRole, size: number, slots: ChannelSlot[]): GroupMember {
  const m: GroupMember = { layer: layer.name, role, className: layer.className };
  const s = slots[0];
  if (!s) return m;
  if (s.spatial !== 1) m.spatial = s.spatial;
  if (s.multiplier !== 1) m.multiplier = s.multiplier;
  if (s.offset !== 0) m.offset = s.offset;
  if (s.spatial !== 1 && s.stride !== size * s.multiplier) m.stride = s.stride;
  if (slots.length > 1) m.slots = slots;
  return m;
}

/**
 * Finds every group of coupled channels. Examples:
 * - chain `conv1(8) -> bn1 -> relu1 -> pool1 -> conv2(16) -> flatten -> logits(10)`: group 0
 *   `{producer conv1, size 8, members conv1, bn1, relu1, pool1, conv2 (consumer)}`, group 1
 *   `{conv2 -> flatten -> logits (consumer, spatial h*w)}`, group 2 `{logits}`, unprunable because it
 *   produces the model's output;
 * - residual `a(8) -> bn -> add <- b(8)`, `add -> c`: ONE group `{producers [a, b], members a, bn, b, add, c}`;
 * - `concat([a(4), b(6)]) -> d`: groups a and b stay apart; d reads b's channel g at input `4 + g`
 *   (member `{layer: 'd', role: 'consumer', offset: 4}`).
 */
export function buildChannelGraph(ir: ModelIR): ChannelGraph {
  const spaces: Space[] = [];
  const sets = new SpaceSets();
  const events: SpaceEvent[] = [];
  const caveats: SpaceEvent[] = [];
  const layouts = new Map<string, Layout>();
  const behaviours = new Map<string, ChannelBehaviour | 'blocked'>();
  const outputs = new Set(ir.outputs);

  const fresh = (kind: Space['kind'], layer: LayerIR): Layout => {
    const width = lastDim(layer.outputShape) ?? Number.NaN;
    if (!(Number.isInteger(width) && width > 0)) return { width: Number.NaN, pieces: [] };
    const space = sets.add(kind);
    spaces.push({ size: width, kind, layer });
    return { width, pieces: [{ space, start: 0, mult: 1, rep: 1, stride: width }] };
  };
  const freeze = (ins: readonly Layout[], text: (who: Who) => string): void => {
    for (const l of ins) for (const p of l.pieces) events.push({ space: p.space, text });
  };
  const anchorText = (anchor: number): string => {
    const s = spaces[anchor]!;
    return s.kind === 'input'
      ? `the model's input '${s.layer.name}'`
      : `the output of ${s.layer.className} '${s.layer.name}', which PruneLab cannot prune through`;
  };

  for (const layer of ir.layers) {
    const rule = ruleOf(layer.className);
    const rl = ruleLayer(layer);
    let behaviour: ChannelBehaviour | 'blocked' = behaviourOf(rule, rl, layer.inputShape, layer.outputShape);
    const ins = layer.inbound.map((n) => layouts.get(n) ?? { width: Number.NaN, pieces: [] });
    const where = whereText(layer, ir.origin?.format);
    const blocker = rule.blocker?.(rl, layer.inputShape, layer.outputShape);
    let out: Layout;

    switch (behaviour) {
      case 'input':
        out = fresh('input', layer);
        break;
      case 'producer': {
        if (blocker) freeze(ins, (w) => `${whoText(w)} feeds ${where}, which ${blocker}.`);
        out = fresh('producer', layer);
        const own = out.pieces[0]?.space;
        if (own === undefined) {
          // A producer without a known channel count: nothing to prune, its inputs stay readable.
          break;
        }
        if (blocker) {
          events.push({
            space: own,
            text: (w) => `${whoText(w)} ${blocker}, which PruneLab cannot prune yet.`,
          });
        }
        const caveat = rule.caveat?.(rl, layer.inputShape);
        if (caveat) caveats.push({ space: own, text: () => `${where}: ${caveat}.` });
        break;
      }
      case 'channelwise':
      case 'reduce-to-channels':
      case 'flatten': {
        const input = ins[0] ?? { width: Number.NaN, pieces: [] };
        if (blocker) {
          freeze(ins, (w) => `${whoText(w)} feeds ${where}, which ${blocker}.`);
          behaviour = 'blocked';
          out = fresh('fixed', layer);
          break;
        }
        const map = rule.channelMap?.(rl, layer.inputShape) ?? IDENTITY_MAP;
        if (map.outer !== 1 && input.pieces.some((p) => p.rep !== 1)) {
          freeze(ins, (w) => `${whoText(w)} reaches ${where} after a Flatten, which PruneLab cannot follow.`);
          behaviour = 'blocked';
          out = fresh('fixed', layer);
          break;
        }
        const caveat = rule.caveat?.(rl, layer.inputShape);
        if (caveat)
          for (const p of input.pieces) caveats.push({ space: p.space, text: () => `${where}: ${caveat}.` });
        out = {
          width: lastDim(layer.outputShape) ?? Number.NaN,
          pieces: input.pieces.map((p) => ({
            space: p.space,
            start: p.start * map.inner,
            mult: p.mult * map.inner,
            rep: map.outer !== 1 ? map.outer : p.rep,
            stride: map.outer !== 1 ? input.width * map.inner : p.stride * map.inner,
          })),
        };
        break;
      }
      case 'concat':
      case 'elementwise': {
        const width = lastDim(layer.outputShape) ?? Number.NaN;
        if (behaviour === 'concat' && concatsChannels(rl, layer.outputShape.length)) {
          if (ins.some((l) => Number.isNaN(l.width))) {
            freeze(
              ins,
              (w) =>
                `${whoText(w)} feeds ${where} next to channels of unknown count, which PruneLab cannot place.`,
            );
            behaviour = 'blocked';
            out = fresh('fixed', layer);
            break;
          }
          const pieces: Piece[] = [];
          let offset = 0;
          for (const l of ins) {
            for (const p of l.pieces) pieces.push({ ...p, start: p.start + offset });
            offset += l.width;
          }
          out = { width, pieces };
          break;
        }
        // Elementwise (or a Concatenate along another axis): channel c of every input is channel c of
        // the output. A broadcast input of 1 channel is not coupled (Torch-Pruning#510).
        const coupled = ins.filter((l) => !(l.width === 1 && width !== 1));
        const first = coupled[0];
        const at = first && origins(first, spaces);
        if (!first || !at || coupled.some((l) => l.width !== first.width)) {
          freeze(
            ins,
            (w) =>
              `${whoText(w)} meets channels of unknown or different count at ${where}, which PruneLab cannot line up.`,
          );
          behaviour = 'blocked';
          out = fresh('fixed', layer);
          break;
        }
        // Index by index: the same channel number of two equally sized spaces joins them; anything
        // else (a space split across two others, a depthwise-expanded channel against a plain one)
        // freezes both (PruneLab does not split a producer between groups).
        const misfit = (w: Who) =>
          `${whoText(w)} meets channels arranged differently at ${where}, which PruneLab cannot line up.`;
        for (const l of coupled.slice(1)) {
          const o = origins(l, spaces);
          for (let i = 0; i < first.width; i++) {
            const a = at.space[i]!;
            const b = o ? o.space[i]! : -1;
            if (b < 0 || at.channel[i] !== o!.channel[i] || spaces[a]!.size !== spaces[b]!.size) {
              events.push({ space: a, text: misfit });
              if (b >= 0) events.push({ space: b, text: misfit });
              continue;
            }
            const { changed, anchor } = sets.union(a, b);
            if (changed && anchor >= 0) {
              const text = `shares its channels with ${anchorText(anchor)} at ${where}, so none can be removed.`;
              events.push({ space: a, text: (w) => `${whoText(w)} ${text}` });
            }
          }
        }
        out = { width: first.width, pieces: first.pieces.map((p) => ({ ...p })) };
        break;
      }
      case 'opaque':
        freeze(
          ins,
          (w) => `${whoText(w)} feeds ${where}, which ${blocker ?? 'PruneLab cannot prune through'}.`,
        );
        out = fresh('fixed', layer);
        break;
    }
    behaviours.set(layer.name, behaviour);
    layouts.set(layer.name, out);
    if (outputs.has(layer.name)) {
      for (const p of out.pieces) {
        events.push({
          space: p.space,
          text: (w) =>
            w.name === layer.name
              ? `${whoText(w)} produces the model's output (${w.size} ${w.size === 1 ? 'value' : 'values'}), so none can be removed.`
              : `${whoText(w)} reaches the model's output through '${layer.name}', so none of its ${w.size} ${unitWord(w.className, w.size)} can be removed.`,
        });
      }
    }
  }

  // Groups: classes holding a producer, numbered by their first producer in topological order.
  const groups: ChannelGroup[] = [];
  const groupOfRoot = new Map<number, ChannelGroup>();
  const groupByProducer: Record<string, number> = {};
  spaces.forEach((s, id) => {
    if (s.kind !== 'producer') return;
    const root = sets.find(id);
    let g = groupOfRoot.get(root);
    if (!g) {
      g = {
        id: groups.length,
        producer: s.layer.name,
        producers: [],
        size: s.size,
        members: [],
        prunable: true,
      };
      groups.push(g);
      groupOfRoot.set(root, g);
    }
    g.producers.push(s.layer.name);
    groupByProducer[s.layer.name] = g.id;
  });
  const groupOfSpace = (space: number): ChannelGroup | undefined => groupOfRoot.get(sets.find(space));
  const producerLayer = new Map(
    spaces.filter((s) => s.kind === 'producer').map((s) => [s.layer.name, s.layer]),
  );
  const firstWho = (g: ChannelGroup, space: number): Who => {
    const s = spaces[space]!;
    const layer = s.kind === 'producer' ? s.layer : producerLayer.get(g.producer)!;
    return { name: layer.name, className: layer.className, size: g.size };
  };
  for (const e of events) {
    const g = groupOfSpace(e.space);
    if (!g || !g.prunable) continue;
    g.prunable = false;
    g.reason = e.text(firstWho(g, e.space));
  }
  for (const e of caveats) {
    const g = groupOfSpace(e.space);
    if (!g) continue;
    const text = e.text(firstWho(g, e.space));
    const list = (g.caveats ??= []);
    if (!list.includes(text)) list.push(text);
  }

  // Members, layer by layer in topological order, and the public layouts.
  const slotsByGroup = (l: Layout | undefined): Map<ChannelGroup, ChannelSlot[]> => {
    const m = new Map<ChannelGroup, ChannelSlot[]>();
    for (const p of l?.pieces ?? []) {
      const g = groupOfSpace(p.space);
      if (!g) continue;
      const list = m.get(g) ?? [];
      list.push({ offset: p.start, multiplier: p.mult, spatial: p.rep, stride: p.stride });
      m.set(g, list);
    }
    return m;
  };
  const publicLayouts: Record<string, TensorLayout> = {};
  for (const layer of ir.layers) {
    const behaviour = behaviours.get(layer.name)!;
    const out = layouts.get(layer.name)!;
    const input = layer.inbound[0] === undefined ? undefined : layouts.get(layer.inbound[0]);
    const add = (side: Layout | undefined, role: MemberRole) => {
      for (const [g, slots] of slotsByGroup(side)) g.members.push(memberOf(layer, role, g.size, slots));
    };
    if (behaviour === 'producer') {
      const own = out.pieces[0] && groupOfSpace(out.pieces[0].space);
      if (own) own.members.push({ layer: layer.name, role: 'producer', className: layer.className });
      add(input, 'consumer');
    } else if (behaviour === 'channelwise' || behaviour === 'reduce-to-channels' || behaviour === 'flatten') {
      add(input, 'channelwise');
    } else if (behaviour === 'elementwise' || behaviour === 'concat') {
      add(out, 'channelwise');
    }
    const slots: LayoutSlot[] = [];
    for (const p of out.pieces) {
      const g = groupOfSpace(p.space);
      if (g)
        slots.push({ group: g.id, offset: p.start, multiplier: p.mult, spatial: p.rep, stride: p.stride });
    }
    publicLayouts[layer.name] = { width: out.width, slots };
  }

  const groupsByLayer: Record<string, number[]> = {};
  for (const g of groups) {
    for (const m of g.members) {
      const list = (groupsByLayer[m.layer] ??= []);
      if (list[list.length - 1] !== g.id) list.push(g.id);
    }
  }
  const layerClasses: Record<string, string> = {};
  for (const l of ir.layers) layerClasses[l.name] = l.className;
  return { groups, groupByProducer, groupsByLayer, layerClasses, layouts: publicLayouts };
}

/**
 * The indices on a member's channel axis (see `GroupMember`) that group channels `channels` occupy,
 * ascending. Example: a Dense behind `Flatten` of `[2, 2, 3]` reading a 3-channel group
 * (`spatial: 4`): channel 1 is rows `[1, 4, 7, 10]`.
 */
export function memberIndices(
  group: ChannelGroup,
  member: GroupMember,
  channels: readonly number[],
): number[] {
  const multiplier = member.multiplier ?? 1;
  const slots: ChannelSlot[] = member.slots ?? [
    {
      offset: member.offset ?? 0,
      multiplier,
      spatial: member.spatial ?? 1,
      stride: member.stride ?? group.size * multiplier,
    },
  ];
  const out: number[] = [];
  for (const s of slots) {
    for (let k = 0; k < s.spatial; k++) {
      for (const c of channels) {
        for (let j = 0; j < s.multiplier; j++) out.push(s.offset + c * s.multiplier + j + s.stride * k);
      }
    }
  }
  return out.sort((a, b) => a - b);
}

function place(m: GroupMember): string {
  const offsets = m.slots ? m.slots.map((s) => s.offset) : m.offset ? [m.offset] : [];
  return offsets.length === 0 ? '' : ` (at ${offsets.join(', ')})`;
}

/**
 * What a consumer's sliced input axis is called: `input rows` for a layer whose outputs are units
 * (Dense reads a Flatten's rows), `input channels` for a convolution.
 */
export function consumerAxisWord(className: string | undefined): string {
  return unitWord(className, 1) === 'unit' ? 'input rows' : 'input channels';
}

/**
 * The group as one readable line, members in topological order, e.g.
 * `"conv2 (16 filters) -> bn2 -> relu2 -> pool2 -> flatten -> dense1 input rows"`; coupled producers
 * each show their count, and a member reading the group at an offset says where:
 * `"b (6 filters) -> cat (at 4) -> d input channels (at 4)"`.
 */
export function describeGroup(group: ChannelGroup): string {
  return group.members
    .map((m) => {
      if (m.role === 'producer') return `${m.layer} (${group.size} ${unitWord(m.className, group.size)})`;
      if (m.role === 'consumer') return `${m.layer} ${consumerAxisWord(m.className)}${place(m)}`;
      return `${m.layer}${place(m)}`;
    })
    .join(' -> ');
}
