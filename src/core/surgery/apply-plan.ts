/**
 * Surgery: artifacts + plan -> new, smaller artifacts. Pure and non-mutating: the input's topology
 * is deep-copied, weight arrays are sliced into new arrays (unchanged weights share their read-only
 * values), and layer names, classes and order stay as they were.
 *
 * Channel counts flow exactly as in the cost model (graph/channel-flow.ts): every layer's output
 * keeps the indices of its layout that the plan's groups do not lose (DepthwiseConv2D `c -> c*m+j`,
 * Flatten `c -> c + C*k`, Concatenate at offsets), and each weight axis is sliced by its role in the rules table
 * (Conv2D kernel `[kh, kw, in, out]`, Dense `[in, out]`, Conv2DTranspose `[kh, kw, out, in]`...).
 */
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import type { PruningPlan } from '../plan/plan';
import { buildModelIR, forEachLayerConfig } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { graphWithLayouts, keptIndices, layerFlows } from '../graph/channel-flow';
import { expandKept } from '../graph/layer-rules';
import { canonicalizePlan, validatePlan } from '../plan/validate';

/** Original indices kept on a layer's input-channel and/or output-channel axis (last axis of its input/output). */
export interface KeptIndices {
  inputChannels?: number[];
  outputChannels?: number[];
}

/** PruneLab's own version (package.json `version`; a test holds the two equal), recorded by every writer. */
export const PRUNELAB_VERSION = '0.1.0';

/** The TF.js release whose `loadLayersModel` the TF.js export is written for and tested with. */
export const TFJS_FORMAT_VERSION = '4.22.0';

/**
 * Who wrote an exported file and for what, in `prunelab.writer`: PruneLab itself (never a Keras
 * release), the format and the version of it targeted, and what the writer had to translate or drop.
 * Example: `{name: 'PruneLab', version: '0.1.0', format: 'keras-v3', formatVersion: '3', notes: []}`.
 */
export interface WriterRecord {
  name: 'PruneLab';
  version: string;
  /** `tfjs-layers-model`, `keras-v3` (.keras) or `keras-h5` (Keras 2 full-model .h5). */
  format: 'tfjs-layers-model' | 'keras-v3' | 'keras-h5';
  /** The version of that format targeted: a tfjs release, Keras major `3`, or the .h5 `keras_version` attribute written. */
  formatVersion: string;
  /** Keras-only names translated or dropped for the target (tfjs-portable.ts), one line each. */
  notes?: string[];
}

/** What a pruned model carries in `userDefinedMetadata.prunelab`, always in the ORIGINAL model's indexing. */
export interface ProvenanceRecord {
  version: 1;
  tool: 'PruneLab';
  /** The plan that turns the original model into this one (composed over repeated pruning). */
  plan: PruningPlan;
  kept: Record<string, KeptIndices>;
  /** Added by the writer of an exported file (absent in memory and in files older than issue 11). */
  writer?: WriterRecord;
}

/**
 * The artifacts with `prunelab.writer` set, when they carry a provenance record (a copy; the input is
 * untouched). Models without a record (a writer used as a plain converter) are returned as they are.
 */
export function stampWriter(
  a: ModelArtifactsData,
  writer: Omit<WriterRecord, 'name' | 'version'>,
): ModelArtifactsData {
  const record = a.userDefinedMetadata?.['prunelab'];
  if (typeof record !== 'object' || record === null) return a;
  const w: WriterRecord = { name: 'PruneLab', version: PRUNELAB_VERSION, ...writer };
  if (w.notes?.length === 0) delete w.notes;
  return { ...a, userDefinedMetadata: { ...a.userDefinedMetadata, prunelab: { ...record, writer: w } } };
}

export interface ApplyPlanResult {
  artifacts: ModelArtifactsData;
  /** This step's kept indices, in the *input* model's indexing (the provenance record holds the composed ones). */
  kept: Record<string, KeptIndices>;
}

/** The same bytes as 32-bit integers (both element types are 4 bytes wide). */
function int32View(v: Float32Array | Int32Array): Int32Array {
  return v instanceof Int32Array ? v : new Int32Array(v.buffer, v.byteOffset, v.length);
}

/** `dst[o + k] = src[base + at[k]]` for every k; returns the next free position of `dst`. */
function gather(dst: Int32Array, o: number, src: Int32Array, base: number, at: Int32Array): number {
  for (let k = 0; k < at.length; k++) dst[o + k] = src[base + at[k]!]!;
  return o + at.length;
}

/** Copies the `block` values from each `base + at[k]` in turn; returns the next free position of `dst`. */
function copyBlocks(
  dst: Int32Array,
  o: number,
  src: Int32Array,
  base: number,
  at: Int32Array,
  block: number,
): number {
  for (let k = 0; k < at.length; k++) {
    const from = base + at[k]!;
    if (block < 32) for (let j = 0; j < block; j++) dst[o++] = src[from + j]!;
    else {
      dst.set(src.subarray(from, from + block), o);
      o += block;
    }
  }
  return o;
}

/**
 * Gathers `picks[axis]` (or the whole axis for `null`) from a row-major weight into a new tensor.
 * Example: a `[2, 3]` Dense kernel with picks `[[1], null]` keeps row 1: shape `[1, 3]`.
 */
export function sliceWeight(w: WeightTensor, picks: readonly (readonly number[] | null)[]): WeightTensor {
  const shape = w.shape;
  const rank = shape.length;
  const outShape = shape.map((d, a) => picks[a]?.length ?? d);
  const total = outShape.reduce((p, d) => p * d, 1);
  const out = w.dtype === 'int32' ? new Int32Array(total) : new Float32Array(total);
  const result = { name: w.name, shape: outShape, dtype: w.dtype, values: out };
  if (rank === 0) out[0] = w.values[0]!;
  if (rank === 0 || total === 0) return result;
  // Values whose array type differs from `dtype` are converted first, as an element-wise copy would;
  // then bit patterns are copied as int32, so every float travels unchanged.
  const typed = w.dtype === 'int32' ? w.values instanceof Int32Array : w.values instanceof Float32Array;
  const from = typed
    ? w.values
    : w.dtype === 'int32'
      ? Int32Array.from(w.values)
      : Float32Array.from(w.values);
  const src = int32View(from);
  const dst = int32View(out);
  const strides = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) strides[a] = strides[a + 1]! * shape[a + 1]!;
  // Axes after the last picked one are whole: copy them as contiguous blocks.
  let last = rank - 1;
  while (last > 0 && !picks[last]) last--;
  const block = strides[last]!;
  // The flat offset of each gathered index on axes 0..last, walked like an odometer.
  const offsets: Int32Array[] = [];
  for (let a = 0; a <= last; a++) {
    const list = picks[a];
    const stride = strides[a]!;
    const off = new Int32Array(outShape[a]!);
    for (let k = 0; k < off.length; k++) off[k] = (list ? list[k]! : k) * stride;
    offsets.push(off);
  }
  const inner = offsets[last]!;
  const digit = new Int32Array(last);
  let base = 0;
  for (let a = 0; a < last; a++) base += offsets[a]![0]!;
  let o = 0;
  for (;;) {
    o = block === 1 ? gather(dst, o, src, base, inner) : copyBlocks(dst, o, src, base, inner, block);
    // Next position of axes 0..last-1 (the last of them moves fastest).
    let a = last - 1;
    for (; a >= 0; a--) {
      const off = offsets[a]!;
      base -= off[digit[a]!]!;
      if (++digit[a]! < off.length) {
        base += off[digit[a]!]!;
        break;
      }
      digit[a] = 0;
      base += off[0]!;
    }
    if (a < 0) return result;
  }
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
  // Every other field of an earlier record (finetune history, anything a later version adds) stays;
  // the writer stamp does not: it describes one file, and the next writer sets its own.
  const rest: Record<string, unknown> = { ...(prev ?? {}) };
  for (const k of ['version', 'tool', 'plan', 'kept', 'writer']) delete rest[k];
  return { ...rest, version: 1, tool: 'PruneLab', plan: composed, kept };
}

const INPUT_SHAPE_KEYS = ['batch_input_shape', 'batchInputShape', 'batch_shape'] as const;

/** Sets the channel (last) entry of whatever input shape a layer config spells out. */
function resizeInputShape(config: Record<string, unknown>, channels: number): void {
  for (const key of [...INPUT_SHAPE_KEYS, 'input_shape', 'inputShape']) {
    const v = config[key];
    if (Array.isArray(v) && v.length > 0) config[key] = [...(v as unknown[]).slice(0, -1), channels];
  }
}

/**
 * Applies a pruning plan and returns NEW artifacts plus the kept indices; the input is untouched.
 * Throws an Error listing the plan's problems (see `validatePlan`) before doing anything.
 * Example: `conv1(8) -> bn1 -> conv2(16)` with `{remove: {conv1: [0, 5]}}` slices conv1's kernel
 * `[3,3,1,8] -> [3,3,1,6]` and bias, bn1's four vectors to 6, conv2's kernel `[3,3,8,16] -> [3,3,6,16]`,
 * sets conv1's `filters` to 6, and records `kept.conv1.outputChannels = [1,2,3,4,6,7]` in
 * `userDefinedMetadata.prunelab`. An empty plan gives the input's weights and topology unchanged, with
 * a record too (an empty `plan.remove`, nothing in `kept`), so every export says what was done to it.
 * In a coupled group (`a -> Add <- b`) the same channels go from every producer, the merge and
 * whatever reads it; behind a Concatenate the consumer's input slices sit at the group's offset.
 * Nested models keep their structure and weight names: their layers' configs (and the input shapes
 * they spell out) are updated in place in the copied topology.
 */
export function applyPlan(
  a: ModelArtifactsData,
  plan: PruningPlan,
  ir?: ModelIR,
  graph?: ChannelGraph,
): ApplyPlanResult {
  const theIr = ir ?? buildModelIR(a);
  const theGraph = graphWithLayouts(theIr, graph ?? buildChannelGraph(theIr));
  const problems = validatePlan(theGraph, plan);
  if (problems.length > 0) {
    throw new Error(`The pruning plan cannot be applied:\n- ${problems.join('\n- ')}`);
  }
  const p = canonicalizePlan(theGraph, plan);
  const prev = readProvenance(a);
  const removed = new Map<number, number[]>();
  for (const [producer, list] of Object.entries(p.remove))
    removed.set(theGraph.groupByProducer[producer]!, list);

  const keptOut = new Map<string, number[] | null>();
  const kept: Record<string, KeptIndices> = {};
  const sliced = new Map<number, WeightTensor>();
  /** scoped layer name -> config edits. */
  const edits = new Map<string, ((config: Record<string, unknown>) => void)[]>();
  const edit = (layer: string, f: (config: Record<string, unknown>) => void) =>
    edits.set(layer, [...(edits.get(layer) ?? []), f]);

  for (const f of layerFlows(theIr)) {
    const name = f.layer.name;
    const layout = theGraph.layouts[name];
    const inKept = f.source === undefined ? null : (keptOut.get(f.source) ?? null);
    const outKept = layout ? keptIndices(layout, removed) : null;
    if (f.behaviour === 'opaque' || f.behaviour === 'input') {
      const pruned = f.layer.inbound.find((src) => keptOut.get(src));
      if (pruned !== undefined || outKept) {
        throw new Error(
          `Internal error: pruned channels of '${pruned ?? name}' reach ${f.layer.className} '${name}', which the channel graph should have made unprunable.`,
        );
      }
    }
    keptOut.set(name, outKept);
    if (outKept) {
      const count = outKept.length;
      const key = f.behaviour === 'producer' ? f.rule.countKey : undefined;
      if (key) edit(name, (c) => (c[key] = count));
      else if (f.rule.resizeConfig) edit(name, (c) => f.rule.resizeConfig!(c, count));
    }
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
  // A nested model spells out the input shape it is fed from outside (its InputLayer's batch_input_shape).
  for (const { config, source } of theIr.nestedInputs ?? []) {
    const k = keptOut.get(source);
    if (k) edit(config, (c) => resizeInputShape(c, k.length));
  }

  const topology = structuredClone(a.modelTopology);
  if (edits.size > 0) {
    forEachLayerConfig(topology, (scoped, entry) => edits.get(scoped)?.forEach((f) => f(entry.config)));
  }
  const out: ModelArtifactsData = {
    modelTopology: topology,
    weights: a.weights.map((w, i) => sliced.get(i) ?? { ...w, shape: [...w.shape] }),
  };
  if (a.format !== undefined) out.format = a.format;
  if (a.generatedBy !== undefined) out.generatedBy = a.generatedBy;
  if (a.convertedBy !== undefined) out.convertedBy = a.convertedBy;
  const meta = a.userDefinedMetadata === undefined ? undefined : structuredClone(a.userDefinedMetadata);
  out.userDefinedMetadata = { ...meta, prunelab: composeProvenance(prev, kept, p) };
  return { artifacts: out, kept };
}
