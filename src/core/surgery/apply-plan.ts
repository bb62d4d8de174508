/**
 * Surgery: artifacts + plan -> new, smaller artifacts. Pure and non-mutating: the input's topology
 * is deep-copied, weight arrays are sliced into new arrays (unchanged weights share their read-only
 * values), and layer names, classes and order stay as they were.
 *
 * Channel counts flow exactly as in the cost model (graph/channel-flow.ts): a producer keeps the
 * channels the plan does not remove, a pass-through layer maps them (DepthwiseConv2D `c -> c*m+j`,
 * Flatten `c -> c + C*k`), and each weight axis is sliced by its role in the rules table
 * (Conv2D kernel `[kh, kw, in, out]`, Dense `[in, out]`, Conv2DTranspose `[kh, kw, out, in]`...).
 */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import type { PruningPlan } from '../plan/plan';
import { buildModelIR, modelConfigOf, topologyLayers } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { layerFlows } from '../graph/channel-flow';
import { expandKept } from '../graph/layer-rules';
import { normalizePlan, validatePlan } from '../plan/validate';

/** Original indices kept on a layer's input-channel and/or output-channel axis (last axis of its input/output). */
export interface KeptIndices {
  inputChannels?: number[];
  outputChannels?: number[];
}

/** What a pruned model carries in `userDefinedMetadata.prunelab`, always in the ORIGINAL model's indexing. */
export interface ProvenanceRecord {
  version: 1;
  tool: 'PruneLab';
  /** The plan that turns the original model into this one (composed over repeated pruning). */
  plan: PruningPlan;
  kept: Record<string, KeptIndices>;
}

export interface ApplyPlanResult {
  artifacts: ModelArtifactsData;
  /** This step's kept indices, in the *input* model's indexing (the provenance record holds the composed ones). */
  kept: Record<string, KeptIndices>;
}

/**
 * Gathers `picks[axis]` (or the whole axis for `null`) from a row-major weight into a new tensor.
 * Example: a `[2, 3]` Dense kernel with picks `[[1], null]` keeps row 1: shape `[1, 3]`.
 */
export function sliceWeight(w: WeightTensor, picks: readonly (readonly number[] | null)[]): WeightTensor {
  const shape = w.shape;
  const rank = shape.length;
  const lists = shape.map((d, a) => picks[a] ?? Array.from({ length: d }, (_, i) => i));
  const strides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1]! * shape[a + 1]!;
  const outShape = lists.map((l) => l.length);
  const total = outShape.reduce((p, d) => p * d, 1);
  const src = w.values;
  const out = w.dtype === 'int32' ? new Int32Array(total) : new Float32Array(total);
  // Axes after the last picked one are whole: copy them as contiguous blocks.
  let last = rank - 1;
  while (last > 0 && !picks[last]) last--;
  const block = strides[last] ?? 1;
  let o = 0;
  const visit = (axis: number, base: number): void => {
    const list = lists[axis]!;
    const stride = strides[axis]!;
    if (axis === last) {
      if (block === 1) {
        for (const i of list) out[o++] = src[base + i * stride]!;
        return;
      }
      for (const i of list) {
        const from = base + i * stride;
        if (block < 32) for (let j = 0; j < block; j++) out[o++] = src[from + j]!;
        else {
          out.set(src.subarray(from, from + block), o);
          o += block;
        }
      }
      return;
    }
    for (const i of list) visit(axis + 1, base + i * stride);
  };
  if (rank === 0) out[0] = src[0]!;
  else visit(0, 0);
  return { name: w.name, shape: outShape, dtype: w.dtype, values: out };
}

function complement(size: number, removed: readonly number[]): number[] {
  const gone = new Set(removed);
  const kept: number[] = [];
  for (let i = 0; i < size; i++) if (!gone.has(i)) kept.push(i);
  return kept;
}

function isIndexList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0);
}

/** The PruneLab provenance record of a model, if it has one; throws when the record is malformed. */
export function readProvenance(a: ModelArtifactsData): ProvenanceRecord | undefined {
  const r = a.userDefinedMetadata?.['prunelab'];
  if (r === undefined) return undefined;
  const ok =
    typeof r === 'object' &&
    r !== null &&
    (r as ProvenanceRecord).version === 1 &&
    typeof (r as ProvenanceRecord).kept === 'object' &&
    typeof (r as ProvenanceRecord).plan?.remove === 'object' &&
    Object.values((r as ProvenanceRecord).kept).every(
      (k) =>
        (k.inputChannels === undefined || isIndexList(k.inputChannels)) &&
        (k.outputChannels === undefined || isIndexList(k.outputChannels)),
    );
  if (!ok) throw new Error('userDefinedMetadata.prunelab is not a PruneLab version 1 provenance record.');
  return r as ProvenanceRecord;
}

function compose(prev: number[] | undefined, step: number[] | undefined): number[] | undefined {
  if (step === undefined) return prev;
  if (prev === undefined) return step;
  return step.map((i) => prev[i]!);
}

/** Composes a previous record with this step's kept indices and plan, back to the original indexing. */
function composeProvenance(
  prev: ProvenanceRecord | undefined,
  step: Record<string, KeptIndices>,
  plan: PruningPlan,
): ProvenanceRecord {
  const kept: Record<string, KeptIndices> = {};
  const layers = new Set([...Object.keys(prev?.kept ?? {}), ...Object.keys(step)]);
  for (const name of layers) {
    const p = prev?.kept[name];
    const s = step[name];
    const entry: KeptIndices = {};
    const input = compose(p?.inputChannels, s?.inputChannels);
    const output = compose(p?.outputChannels, s?.outputChannels);
    if (input) entry.inputChannels = input;
    if (output) entry.outputChannels = output;
    kept[name] = entry;
  }
  const remove: Record<string, number[]> = {};
  const producers = new Set([...Object.keys(prev?.plan.remove ?? {}), ...Object.keys(plan.remove)]);
  for (const name of producers) {
    const before = prev?.plan.remove[name] ?? [];
    const map = prev?.kept[name]?.outputChannels;
    const now = (plan.remove[name] ?? []).map((i) => (map ? map[i]! : i));
    remove[name] = [...new Set([...before, ...now])].sort((x, y) => x - y);
  }
  const notes = [prev?.plan.note, plan.note].filter((n): n is string => typeof n === 'string' && n !== '');
  const composed: PruningPlan = { version: 1, remove };
  if (notes.length > 0) composed.note = notes.join(', then ');
  return { version: 1, tool: 'PruneLab', plan: composed, kept };
}

/**
 * Applies a pruning plan and returns NEW artifacts plus the kept indices; the input is untouched.
 * Throws an Error listing the plan's problems (see `validatePlan`) before doing anything.
 * Example: `conv1(8) -> bn1 -> conv2(16)` with `{remove: {conv1: [0, 5]}}` slices conv1's kernel
 * `[3,3,1,8] -> [3,3,1,6]` and bias, bn1's four vectors to 6, conv2's kernel `[3,3,8,16] -> [3,3,6,16]`,
 * sets conv1's `filters` to 6, and records `kept.conv1.outputChannels = [1,2,3,4,6,7]` in
 * `userDefinedMetadata.prunelab` (an empty plan adds no record: the result equals the input).
 */
export function applyPlan(
  a: ModelArtifactsData,
  plan: PruningPlan,
  ir?: ModelIR,
  graph?: ChannelGraph,
): ApplyPlanResult {
  const theIr = ir ?? buildModelIR(a);
  const theGraph = graph ?? buildChannelGraph(theIr);
  const problems = validatePlan(theGraph, plan);
  if (problems.length > 0) {
    throw new Error(`The pruning plan cannot be applied:\n- ${problems.join('\n- ')}`);
  }
  const p = normalizePlan(plan);
  const prev = readProvenance(a);

  const keptOut = new Map<string, number[] | null>();
  const kept: Record<string, KeptIndices> = {};
  const sliced = new Map<number, WeightTensor>();
  const newCounts = new Map<string, { key: string; value: number }>();

  for (const f of layerFlows(theIr)) {
    const name = f.layer.name;
    const inKept = f.source === undefined ? null : (keptOut.get(f.source) ?? null);
    let outKept: number[] | null = null;
    if (f.kind === 'producer') {
      const removed = p.remove[name];
      if (removed) {
        outKept = complement(f.outChannels, removed);
        newCounts.set(name, { key: f.rule.countKey ?? 'filters', value: outKept.length });
      }
    } else if (f.kind === 'pass') {
      if (inKept) outKept = expandKept(inKept, f.inChannels, f.map.inner, f.map.outer);
    } else {
      const pruned = f.layer.inbound.find((src) => keptOut.get(src));
      if (pruned !== undefined) {
        throw new Error(
          `Internal error: pruned channels of '${pruned}' reach ${f.layer.className} '${name}', which the channel graph should have made unprunable.`,
        );
      }
    }
    keptOut.set(name, outKept);
    if (!inKept && !outKept) continue;

    let any = false;
    for (const ref of f.layer.weights) {
      const spec = f.specs.get(ref.role);
      if (!spec) continue;
      const picks = spec.axes.map((ax) => {
        if (ax.kind === 'in' && inKept) return expandKept(inKept, f.inChannels, ax.factor, 1);
        if (ax.kind === 'out' && outKept) return expandKept(outKept, f.outChannels, ax.factor, 1);
        return null;
      });
      if (picks.every((x) => x === null)) continue;
      const w = a.weights[ref.weightIndex]!;
      sliced.set(ref.weightIndex, sliceWeight(w, picks));
      any = true;
    }
    if (any) {
      const entry: KeptIndices = {};
      if (inKept) entry.inputChannels = inKept;
      if (outKept) entry.outputChannels = outKept;
      kept[name] = entry;
    }
  }

  const topology = structuredClone(a.modelTopology);
  if (newCounts.size > 0) {
    for (const l of topologyLayers(modelConfigOf(topology))) {
      const update = newCounts.get(l.config.name ?? l.name ?? '');
      if (update) l.config[update.key] = update.value;
    }
  }
  const out: ModelArtifactsData = {
    modelTopology: topology,
    weights: a.weights.map((w, i) => sliced.get(i) ?? { ...w, shape: [...w.shape] }),
  };
  if (a.format !== undefined) out.format = a.format;
  if (a.generatedBy !== undefined) out.generatedBy = a.generatedBy;
  if (a.convertedBy !== undefined) out.convertedBy = a.convertedBy;
  const meta = a.userDefinedMetadata === undefined ? undefined : structuredClone(a.userDefinedMetadata);
  if (Object.keys(p.remove).length > 0) {
    out.userDefinedMetadata = { ...meta, prunelab: composeProvenance(prev, kept, p) };
  } else if (meta !== undefined) {
    out.userDefinedMetadata = meta;
  }
  return { artifacts: out, kept };
}
