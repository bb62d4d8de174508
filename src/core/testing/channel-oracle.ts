/**
 * Test-only: an independent oracle for channel coupling, written without core/graph. It walks a
 * live `tf.LayersModel`'s symbolic tensors (nested models included, named `outer/inner`) and tracks,
 * for every channel of every tensor, which producer channel it is ("origin" keys `layer#c`), joining
 * origins channel by channel at elementwise merges (a per-channel union-find). From that it knows
 * which producers must be pruned together, which cannot be pruned at all, and which weight entries
 * read each channel, so a test can zero the consumers of removed channels in the original model.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelArtifactsData } from '../ir/artifacts';
import type { PruningPlan } from '../plan/plan';
import { mulberry32 } from './random-cnn';

/** A layer reading channels on one axis of one weight (tfjs layouts). */
export interface OracleConsumer {
  layer: string;
  /** Manifest weight name, e.g. `conv1/kernel`. */
  weight: string;
  axis: number;
  /** Origin key of each index on that axis. */
  keys: string[];
}

export interface OracleGroup {
  producers: string[];
  size: number;
  prunable: boolean;
}

export interface ChannelOracle {
  groups: OracleGroup[];
  consumers: OracleConsumer[];
  /** Class representative of an origin key. */
  find(key: string): string;
}

const PRODUCERS: Record<string, { weight: string; axis: (rank: number) => number }> = {
  Conv1D: { weight: 'kernel', axis: () => 1 },
  Conv2D: { weight: 'kernel', axis: () => 2 },
  Conv2DTranspose: { weight: 'kernel', axis: () => 3 },
  SeparableConv2D: { weight: 'depthwise_kernel', axis: () => 2 },
  Dense: { weight: 'kernel', axis: () => 0 },
};
const MERGES = new Set(['Add', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Subtract']);

function lastOf(shape: readonly (number | null)[]): number {
  const c = shape[shape.length - 1];
  if (typeof c !== 'number') throw new Error(`oracle: unknown channel count in ${JSON.stringify(shape)}`);
  return c;
}

/** Analyses a live model; `weightName(layer, role)` gives the manifest name (tfjs: `${layer.name}/${role}`). */
export function buildChannelOracle(model: tf.LayersModel): ChannelOracle {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  const frozen = new Set<string>();
  const producers: { name: string; size: number }[] = [];
  const consumers: OracleConsumer[] = [];
  const memo = new Map<number, string[]>();
  let unknown = 0;

  const walk = (t: tf.SymbolicTensor, scope: string): string[] => {
    const hit = memo.get(t.id);
    if (hit) return hit;
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    const name = `${scope}${layer.name}`;
    const width = lastOf(t.shape);
    let out: string[];
    if (layer instanceof tf.LayersModel) {
      // A nested model: its own input tensors take the outer inputs' origins.
      const inner = layer.inputs;
      t.inputs.forEach((x, i) => memo.set(inner[i]!.id, walk(x, scope)));
      out = walk(layer.outputs[t.tensorIndex]!, `${name}/`);
    } else if (cls === 'InputLayer' || t.inputs.length === 0) {
      out = Array.from({ length: width }, (_, c) => `input:${name}#${c}`);
      out.forEach((k) => frozen.add(k));
    } else {
      const ins = t.inputs.map((x) => walk(x, scope));
      const first = ins[0]!;
      const cfg = layer.getConfig();
      const p = PRODUCERS[cls];
      if (p) {
        consumers.push({
          layer: name,
          weight: `${layer.name}/${p.weight}`,
          axis: p.axis(t.inputs[0]!.rank),
          keys: first,
        });
        producers.push({ name, size: width });
        out = Array.from({ length: width }, (_, c) => `${name}#${c}`);
      } else if (cls === 'DepthwiseConv2D') {
        const m = Number(cfg['depthMultiplier'] ?? 1);
        out = first.flatMap((k) => Array<string>(m).fill(k));
      } else if (cls === 'Flatten') {
        const positions = width / first.length;
        out = Array.from({ length: positions }, () => first).flat();
      } else if (cls === 'Concatenate' && [-1, t.rank - 1].includes(Number(cfg['axis'] ?? -1))) {
        out = ins.flat();
      } else if (MERGES.has(cls) || cls === 'Concatenate') {
        const coupled = ins.filter((x) => !(x.length === 1 && width !== 1));
        for (const x of coupled.slice(1)) x.forEach((k, i) => union(coupled[0]![i]!, k));
        out = coupled[0]!;
      } else if (cls === 'Reshape' && lastOf(t.inputs[0]!.shape) !== width) {
        first.forEach((k) => frozen.add(k));
        out = Array.from({ length: width }, () => `frozen:${unknown++}`);
        out.forEach((k) => frozen.add(k));
      } else {
        // Everything else the test models use keeps channel c on channel c.
        if (first.length !== width) throw new Error(`oracle: ${cls} '${name}' changes the channel count`);
        out = first;
      }
    }
    memo.set(t.id, out);
    return out;
  };

  for (const o of model.outputs) walk(o, '').forEach((k) => frozen.add(k));

  const frozenRoots = new Set([...frozen].map(find));
  const groups: OracleGroup[] = [];
  const placed = new Set<string>();
  for (const p of producers) {
    if (placed.has(p.name)) continue;
    const classes = Array.from({ length: p.size }, (_, c) => find(`${p.name}#${c}`));
    // Every producer sharing any channel with P's: the same channels, one for one, or the group is
    // frozen (PruneLab does not split a producer between groups, e.g. `add(concat([a, b]), c)`).
    const members = producers.filter((q) =>
      Array.from({ length: q.size }, (_, c) => find(`${q.name}#${c}`)).some((r) => classes.includes(r)),
    );
    const aligned =
      new Set(classes).size === p.size &&
      members.every((q) => q.size === p.size && classes.every((r, c) => find(`${q.name}#${c}`) === r));
    // A producer already placed shares channels with two groups: all of them are frozen.
    const overlap = members.some((q) => placed.has(q.name));
    const prunable = aligned && !overlap && !classes.some((r) => frozenRoots.has(r));
    const fresh = members.filter((q) => !placed.has(q.name));
    for (const q of fresh) placed.add(q.name);
    groups.push({ producers: fresh.map((q) => q.name), size: p.size, prunable });
  }
  return { groups, consumers, find };
}

/** A random plan over the oracle's prunable groups, each named by a random producer of its group (an alias). */
export function randomOraclePlan(oracle: ChannelOracle, seed: number): PruningPlan {
  const rand = mulberry32(seed);
  const remove: Record<string, number[]> = {};
  for (const g of oracle.groups) {
    if (!g.prunable || rand() < 0.2) continue;
    const p = 0.2 + 0.6 * rand();
    const list = Array.from({ length: g.size }, (_, i) => i).filter(() => rand() < p);
    if (list.length === g.size) list.splice(Math.floor(rand() * list.length), 1);
    if (list.length > 0) remove[g.producers[Math.floor(rand() * g.producers.length)]!] = list;
  }
  return { version: 1, remove };
}

/** The original model with every weight entry that reads a removed channel zeroed (the oracle of STYLE.md #10). */
export function zeroRemovedConsumers(
  a: ModelArtifactsData,
  oracle: ChannelOracle,
  plan: PruningPlan,
): ModelArtifactsData {
  const removed = new Set<string>();
  for (const [producer, list] of Object.entries(plan.remove)) {
    for (const c of list) removed.add(oracle.find(`${producer}#${c}`));
  }
  const weights = a.weights.map((w) => ({ ...w, values: Float32Array.from(w.values) }));
  for (const link of oracle.consumers) {
    const zero = link.keys.map((k) => removed.has(oracle.find(k)));
    if (!zero.includes(true)) continue;
    const w = weights.find((x) => x.name === link.weight);
    if (!w) throw new Error(`oracle: no weight '${link.weight}'`);
    const size = w.shape[link.axis]!;
    const inner = w.shape.slice(link.axis + 1).reduce((p, d) => p * d, 1);
    for (let i = 0; i < w.values.length; i++) if (zero[Math.floor(i / inner) % size]) w.values[i] = 0;
  }
  return { ...a, weights };
}

/** Prunable groups as sorted producer lists, and every unprunable producer: a graph and an oracle must agree on both. */
export function coupling(groups: readonly { producers: string[]; prunable: boolean }[]): {
  prunable: string[];
  frozen: string[];
} {
  return {
    prunable: groups
      .filter((g) => g.prunable)
      .map((g) => [...g.producers].sort().join(' + '))
      .sort(),
    frozen: groups
      .filter((g) => !g.prunable)
      .flatMap((g) => g.producers)
      .sort(),
  };
}
