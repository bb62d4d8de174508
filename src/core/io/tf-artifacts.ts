import * as tf from '@tensorflow/tfjs';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { KerasModelTopology } from '../ir/keras-json';
import { nonLayerKind } from '../ir/validate-config';
import { ModelLoadError } from './errors';

/** Byte size of one element of a weight dtype. */
function bytesPer(_dtype: WeightTensor['dtype']): number {
  return 4; // float32 and int32 are both 4 bytes
}

/** Concatenates the weights, in order, into the single float32/int32 buffer tfjs expects. */
export function concatWeightData(weights: readonly WeightTensor[]): ArrayBuffer {
  const total = weights.reduce((n, w) => n + w.values.length * bytesPer(w.dtype), 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const w of weights) {
    const bytes = new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength);
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return out.buffer;
}

/** Keras 3 spellings of initializers tfjs registers under another name. */
const KERAS_TO_TFJS: Readonly<Record<string, string>> = {
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
  IdentityInitializer: 'Identity',
  OrthogonalInitializer: 'Orthogonal',
};

/**
 * Keras's `L2` / `L1` regularizers as the `L1L2` tfjs knows (tfjs-layers registers only `L1L2`, and
 * fails on `Unknown regularizer: L2` otherwise); the same penalty. Returns the input when nothing changes.
 */
export function tfjsCompatibleTopology<T>(value: T): T {
  const fix = (v: unknown, key: string): unknown => {
    if (key === 'activation' && v === 'silu') return 'swish'; // the same function, tfjs's name
    if (Array.isArray(v)) {
      let changed = false;
      const out = v.map((x) => {
        const y = fix(x, key);
        changed ||= y !== x;
        return y;
      });
      return changed ? out : v;
    }
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    const cfg = o['config'];
    const rename = typeof o['class_name'] === 'string' ? KERAS_TO_TFJS[o['class_name']] : undefined;
    if (rename !== undefined) return { ...o, class_name: rename };
    if (key.endsWith('_regularizer') && (o['class_name'] === 'L2' || o['class_name'] === 'L1')) {
      const c = typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>) : {};
      return { class_name: 'L1L2', config: { l1: Number(c['l1'] ?? 0), l2: Number(c['l2'] ?? 0) } };
    }
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const y = fix(x, k);
      changed ||= y !== x;
      out[k] = y;
    }
    return changed ? out : v;
  };
  return fix(value, '') as T;
}

/** Converts our artifacts into `tf.io.ModelArtifacts` for `tf.loadLayersModel(tf.io.fromMemory(...))`. */
export function toTfArtifacts(a: ModelArtifactsData): tf.io.ModelArtifacts {
  const out: tf.io.ModelArtifacts = {
    modelTopology: tfjsCompatibleTopology(a.modelTopology),
    weightSpecs: a.weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: w.dtype })),
    weightData: concatWeightData(a.weights),
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
  };
  if (a.convertedBy !== undefined) out.convertedBy = a.convertedBy;
  if (a.userDefinedMetadata !== undefined)
    out.userDefinedMetadata = a.userDefinedMetadata as Record<string, object>;
  return out;
}

/**
 * tfjs's Container.fromConfig files layers under their top-level `name` and finds callers under
 * `config.name`; Keras always writes both, hand-made and some converted configs only the second.
 * Fills in the missing one (and a missing `inbound_nodes`), so the two can never disagree.
 */
function withTopLevelNames(topology: unknown): unknown {
  const fill = (mc: unknown): unknown => {
    if (!isRecord(mc) || !isRecord(mc['config']) || !Array.isArray(mc['config']['layers'])) return mc;
    const functional = mc['class_name'] !== 'Sequential';
    const layers = (mc['config']['layers'] as unknown[]).map((e) => {
      if (!isRecord(e)) return e;
      const out: Record<string, unknown> = { ...(fill(e) as Record<string, unknown>) };
      const name = isRecord(e['config']) ? e['config']['name'] : undefined;
      if (functional && out['name'] === undefined && typeof name === 'string') out['name'] = name;
      if (functional && out['inbound_nodes'] === undefined) out['inbound_nodes'] = [];
      return out;
    });
    return { ...mc, config: { ...mc['config'], layers } };
  };
  if (isRecord(topology) && isRecord(topology['model_config']))
    return { ...topology, model_config: fill(topology['model_config']) };
  return fill(topology);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every layer entry of a topology with its class (nested models included), for naming the layer at fault. */
function layerEntries(
  topology: unknown,
): { name: string; className: string; config: Record<string, unknown> }[] {
  const out: { name: string; className: string; config: Record<string, unknown> }[] = [];
  const walk = (mc: unknown, depth: number): void => {
    if (!isRecord(mc) || depth > 32) return;
    const cfg = mc['config'];
    const layers = Array.isArray(cfg) ? cfg : isRecord(cfg) ? cfg['layers'] : undefined;
    if (!Array.isArray(layers)) return;
    for (const e of layers) {
      if (!isRecord(e) || !isRecord(e['config'])) continue;
      const name = e['config']['name'];
      if (typeof name === 'string' && typeof e['class_name'] === 'string')
        out.push({ name, className: e['class_name'], config: e['config'] });
      walk(e, depth + 1);
    }
  };
  walk(isRecord(topology) && isRecord(topology['model_config']) ? topology['model_config'] : topology, 0);
  return out;
}

/**
 * The first layer of a Keras 3 model that uses `hard_sigmoid`, or undefined. Keras 3 defines it as
 * relu6(x + 3) / 6 (keras/src/activations/activations.py); Keras 2 and TensorFlow.js as
 * clip(0.2 x + 0.5, 0, 1): the same name for another function, so TensorFlow.js would compute such a
 * model wrongly without a word. The activation is a name, or Keras 3's `{class_name: 'function', config: name}`.
 */
export function keras3HardSigmoidLayer(topology: KerasModelTopology): string | undefined {
  if (!/^3\./.test(String(topology.keras_version ?? ''))) return undefined;
  const named = (v: unknown) => (isRecord(v) ? v['config'] : v) === 'hard_sigmoid';
  return layerEntries(topology).find((l) => named(l.config['activation']))?.name;
}

/** Layer classes tfjs can build (its serialization registry), plus the model classes. */
function tfjsKnowsClass(className: string): boolean {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
  return Object.prototype.hasOwnProperty.call(map, className);
}

/** Layers tfjs cannot build (a class it does not register: Lambda, custom layers), as `[name, class]`. */
export function unbuildableLayers(topology: unknown): [string, string][] {
  return layerEntries(topology)
    .filter((l) => !tfjsKnowsClass(l.className) || nonLayerKind(l.className) !== undefined)
    .map((l) => [l.name, l.className]);
}

/**
 * tfjs's own message as one short sentence naming the layer where it can be found: "Unknown layer:
 * FooLayer. This may be due to..." (three lines) becomes "Layer 'x' has class 'FooLayer', which
 * TensorFlow.js cannot build."; anything else keeps its first line, cut at 200 characters.
 */
export function describeTfjsError(e: unknown, topology: unknown): { message: string; layer?: string } {
  const raw = e instanceof Error ? e.message : String(e);
  const first = (raw.split('\n')[0] ?? '').trim();
  const entries = layerEntries(topology);
  const unknown =
    /^Unknown (layer|initializer|regularizer|constraint|activation|loss|metric): ?([^.\s]*)/.exec(first);
  if (unknown) {
    const [, kind, value] = unknown;
    const owner =
      kind === 'layer'
        ? entries.find((l) => l.className === value)
        : entries.find((l) =>
            Object.values(l.config).some((v) => v === value || (isRecord(v) && v['class_name'] === value)),
          );
    const what = kind === 'layer' ? `class '${value}'` : `${kind} '${value}'`;
    return owner
      ? { message: `Layer '${owner.name}' has ${what}, which TensorFlow.js cannot build.`, layer: owner.name }
      : { message: `The model uses ${what}, which TensorFlow.js cannot build.` };
  }
  const shape = /expected (\S+) to have shape (\[[^\]]*\]) but got array with shape (\[[^\]]*\])/.exec(first);
  if (shape) {
    return {
      message: `The model expects input '${shape[1]}' of shape ${shape[2]!.replace(/null/g, '?')}, but was given ${shape[3]}.`,
    };
  }
  // The longest layer name the message mentions as a whole word is the best guess at the culprit.
  const named = entries
    .filter((l) =>
      new RegExp(`(^|[^\\w/])${l.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w/])`).test(first),
    )
    .sort((a, b) => b.name.length - a.name.length)[0];
  const text = first.length > 200 ? `${first.slice(0, 200)}...` : first;
  return named
    ? {
        message: `TensorFlow.js could not build layer '${named.name}' (${named.className}): ${text}`,
        layer: named.name,
      }
    : { message: `TensorFlow.js could not build the model: ${text || 'no reason given'}` };
}

function registeredVariableNames(): Set<string> {
  const state = (tf.engine() as unknown as { state: { registeredVariables: Record<string, tf.Variable> } })
    .state;
  return new Set(Object.keys(state.registeredVariables));
}

/** Disposes the variables tfjs registered since `before` (the weights of a half-built model). */
function disposeVariablesSince(before: Set<string>): void {
  const state = (tf.engine() as unknown as { state: { registeredVariables: Record<string, tf.Variable> } })
    .state;
  for (const [name, v] of Object.entries(state.registeredVariables)) {
    if (!before.has(name) && !v.isDisposed) v.dispose();
  }
}

/** A live model and the artifacts it was built from, whose unchanged weights a new model may share. */
export interface ShareWeights {
  model: tf.LayersModel;
  artifacts: ModelArtifactsData;
}

/**
 * Loads artifacts as a live `tf.LayersModel` on the active backend. The caller owns (disposes) it.
 * Throws `ModelLoadError('BUILD_FAILED')` naming the layer when tfjs cannot build or fill the model,
 * after disposing every tensor the failed attempt made (tfjs leaks a half-built model's weights).
 * The topology is built first without weights, then the weights are written one at a time, so a
 * weight tfjs refuses leaves nothing behind either.
 *
 * With `share`, every weight of `a` that is the very array of the same weight in `share.artifacts`
 * (applyPlan leaves the weights it does not slice as they were) reuses `share.model`'s tensor: no
 * copy is made and nothing is uploaded, and on wasm a conv whose filter is shared reuses XNNPACK's
 * packed copy too. A pruned model built this way costs only the weights the plan changed. Tensors are
 * reference-counted, so either model can be disposed first.
 */
export async function loadLayersModelFromArtifacts(
  a: ModelArtifactsData,
  opts: { share?: ShareWeights } = {},
): Promise<tf.LayersModel> {
  const shared = opts.share ? sharedTensors(a, opts.share) : new Map<string, tf.Tensor>();
  const loadId = nextLoadId++;
  // Every weight starts as what it will hold: a shared tensor, or its own values (one upload, and no
  // initializer runs: glorot and friends allocated ~4x an InceptionV3's weights in JS for values
  // that were overwritten at once).
  const byName = new Map(a.weights.map((w) => [w.name, w]));
  const load: Load = { starts: [], started: new Map() };
  const startOf = (name: string): Start | undefined => {
    const t = shared.get(name);
    if (t) return { name, tensor: t };
    const w = byName.get(name);
    return w && (w.dtype === 'float32' || w.dtype === 'int32') ? { name, weight: w } : undefined;
  };
  const topology = withTopLevelNames(
    tfjsCompatibleTopology(withStartingInitializers(a.modelTopology, loadId, startOf, load.starts)),
  );
  const hard = keras3HardSigmoidLayer(a.modelTopology);
  if (hard !== undefined) {
    throw new ModelLoadError(
      'BUILD_FAILED',
      `Layer '${hard}' uses Keras 3's hard_sigmoid (relu6(x + 3) / 6), which TensorFlow.js computes as another function (0.2x + 0.5, clipped), so the model cannot be run here; its filters can still be scored by weight, pruned and downloaded as .keras or .h5.`,
      { layer: hard },
    );
  }
  for (const l of layerEntries(topology)) {
    if (!tfjsKnowsClass(l.className) || nonLayerKind(l.className) !== undefined) {
      throw new ModelLoadError(
        'BUILD_FAILED',
        `Layer '${l.name}' has class '${l.className}', which TensorFlow.js cannot build.`,
        { layer: l.name },
      );
    }
  }
  const before = registeredVariableNames();
  let model: tf.LayersModel;
  try {
    const handler = tf.io.fromMemory({
      modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
      format: a.format ?? 'layers-model',
      generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      ...(a.userDefinedMetadata
        ? { userDefinedMetadata: a.userDefinedMetadata as Record<string, object> }
        : {}),
    });
    if (load.starts.length > 0) sharing.set(loadId, load);
    try {
      model = await tf.loadLayersModel(handler);
    } finally {
      sharing.delete(loadId);
    }
  } catch (e) {
    disposeVariablesSince(before);
    throw new ModelLoadError('BUILD_FAILED', ...buildFailure(e, topology));
  }
  try {
    writeWeights(model, a.weights, shared, load.started);
  } catch (e) {
    model.dispose();
    disposeVariablesSince(before);
    throw new ModelLoadError('BUILD_FAILED', ...buildFailure(e, topology));
  }
  builtFrom.set(model, a.modelTopology);
  return model;
}

/**
 * Fills the model's variables with `weights`. When the names match the variables one to one, each
 * value is written as soon as it is made, so its variable's initial value is freed at once: the
 * backend holds one model plus one weight at a time, not two models (on wasm the heap never
 * shrinks, so the peak is what a page keeps). A variable that already holds its `shared` tensor, or
 * the tensor `StartingWeight` made from its values (`started`, by weight name), is left as it is. Otherwise tfjs's strict `loadWeights` says what is wrong. Shapes are checked by the
 * variables either way.
 */
function writeWeights(
  model: tf.LayersModel,
  weights: readonly WeightTensor[],
  shared: ReadonlyMap<string, tf.Tensor>,
  started: ReadonlyMap<string, object> = new Map(),
): void {
  const target = new Map(model.weights.map((v) => [v.originalName, v]));
  const oneToOne =
    target.size === model.weights.length &&
    weights.length === target.size &&
    new Set(weights.map((w) => w.name)).size === weights.length &&
    weights.every((w) => target.has(w.name));
  if (!oneToOne) {
    tf.tidy(() => {
      const values: tf.NamedTensorMap = {};
      for (const w of weights) values[w.name] = tf.tensor(w.values, w.shape, w.dtype);
      model.loadWeights(values, true);
    });
    return;
  }
  for (const w of weights) {
    const v = target.get(w.name)!;
    const s = shared.get(w.name);
    if (s && v.read().dataId === s.dataId) continue;
    // Started as its own values by StartingWeight (the very tensor made from them).
    if (started.get(w.name) === v.read().dataId) continue;
    if (s && s.dtype === v.dtype && s.shape.join() === v.shape.join()) {
      v.write(s); // shares the tensor (reference-counted), no copy
      continue;
    }
    const t = tf.tensor(w.values, w.shape, w.dtype);
    try {
      v.write(t);
    } finally {
      t.dispose();
    }
  }
}

let nextLoadId = 1;
/** Where a weight starts: a tensor another model holds (shared, no copy), or its own values. */
type Start = { name: string; tensor: tf.Tensor } | { name: string; weight: WeightTensor };
/** A load in progress: its starts by slot, and the data of each tensor started from values, by weight. */
interface Load {
  starts: Start[];
  started: Map<string, object>;
}
const sharing = new Map<number, Load>();

/** The live tensors of `share.model` for the weights of `a` that are the same arrays as in `share.artifacts`. */
function sharedTensors(a: ModelArtifactsData, share: ShareWeights): Map<string, tf.Tensor> {
  const base = new Map(share.artifacts.weights.map((w) => [w.name, w]));
  const live = new Map(share.model.weights.map((v) => [v.originalName, v]));
  const out = new Map<string, tf.Tensor>();
  for (const w of a.weights) {
    const b = base.get(w.name);
    const v = live.get(w.name);
    if (!b || !v || b.values !== w.values || b.dtype !== w.dtype) continue;
    const t = v.read();
    if (t.isDisposed || t.shape.join() !== w.shape.join()) continue;
    out.set(w.name, t);
  }
  return out;
}

/**
 * An initializer that starts a weight as what it will hold: a tensor another model already holds (the
 * same data, no copy), so building a pruned model next to its original allocates only what changed,
 * or the weight's own values (uploaded once; the layer's own initializer, whose random values would
 * be overwritten at once, never runs). Config `{ load, slot }`, numbers (tfjs rewrites the strings of
 * a config into camelCase); a weight it cannot find, or of another shape or dtype, starts as zeros and
 * is written by `writeWeights` like any other.
 */
class StartingWeight extends tf.serialization.Serializable {
  static className = 'PrunelabStartingWeight';
  constructor(private readonly config: { load: number; slot: number }) {
    super();
  }
  override getClassName(): string {
    return StartingWeight.className;
  }
  getConfig(): tf.serialization.ConfigDict {
    return { load: this.config.load, slot: this.config.slot };
  }
  apply(shape: number[], dtype: tf.DataType = 'float32'): tf.Tensor {
    const load = sharing.get(this.config.load);
    const s = load?.starts[this.config.slot];
    if (s && 'tensor' in s) {
      const t = s.tensor;
      // reshape, not clone: it shares the data on every backend (wasm's clone copies it).
      if (!t.isDisposed && t.dtype === dtype && t.shape.join() === shape.join()) return tf.reshape(t, shape);
    } else if (s && s.weight.dtype === dtype && s.weight.shape.join() === shape.join()) {
      const t = tf.tensor(s.weight.values, shape, dtype);
      load.started.set(s.name, t.dataId);
      return t;
    }
    return tf.zeros(shape, dtype);
  }
}
tf.serialization.registerClass(StartingWeight);

/**
 * The weight an `<x>_initializer` config key makes, as tfjs-layers names it: `kernel`, `bias`,
 * `gamma`, ..., and `depthwise_kernel` / `pointwise_kernel` / `recurrent_kernel` for those three.
 */
function weightOfInitializer(key: string): string {
  const stem = key.slice(0, -'_initializer'.length);
  return stem === 'depthwise' || stem === 'pointwise' || stem === 'recurrent' ? `${stem}_kernel` : stem;
}

/**
 * A copy of the topology in which every weight `startOf` knows starts from it: its `<x>_initializer`
 * becomes a StartingWeight pointing at the start's slot in `slots`.
 */
function withStartingInitializers(
  topology: unknown,
  load: number,
  startOf: (weight: string) => Start | undefined,
  slots: Start[],
): unknown {
  const walk = (mc: unknown, depth: number): unknown => {
    if (!isRecord(mc) || depth > 32) return mc;
    const cfg = mc['config'];
    const layers = Array.isArray(cfg) ? cfg : isRecord(cfg) ? cfg['layers'] : undefined;
    if (!Array.isArray(layers)) return mc;
    const next = layers.map((e: unknown) => {
      if (!isRecord(e) || !isRecord(e['config'])) return e;
      const c: Record<string, unknown> = { ...e['config'] };
      const name = c['name'];
      if (typeof name === 'string') {
        for (const k of Object.keys(c)) {
          const t = k.endsWith('_initializer') ? startOf(`${name}/${weightOfInitializer(k)}`) : undefined;
          if (t) c[k] = { class_name: StartingWeight.className, config: { load, slot: slots.push(t) - 1 } };
        }
      }
      return walk({ ...e, config: c }, depth + 1);
    });
    return Array.isArray(cfg)
      ? { ...mc, config: next }
      : { ...mc, config: { ...(cfg as object), layers: next } };
  };
  if (isRecord(topology) && isRecord(topology['model_config']))
    return { ...topology, model_config: walk(topology['model_config'], 0) };
  return walk(topology, 0);
}

function buildFailure(e: unknown, topology: unknown): [string, { layer?: string }] {
  if (e instanceof ModelLoadError) return [e.message, e.layer === undefined ? {} : { layer: e.layer }];
  const d = describeTfjsError(e, topology);
  return [d.message, d.layer === undefined ? {} : { layer: d.layer }];
}

/**
 * `model.predict(x)` with tfjs's input-shape complaint ("Error when checking : expected conv1_input
 * to have shape [null,28,28,1] but got array with shape [1,32,32,3]") as a typed `BAD_SAMPLES` error
 * saying what the model expects; any other failure is `BUILD_FAILED`. The caller owns the result.
 */
export function predictChecked(model: tf.LayersModel, x: tf.Tensor): tf.Tensor | tf.Tensor[] {
  const want = model.inputs[0]?.shape;
  if (model.inputs.length === 1 && want) {
    const ok =
      want.length === x.shape.length && want.every((d, i) => i === 0 || d === null || d === x.shape[i]);
    if (!ok) {
      const fmt = (s: readonly (number | null)[]) =>
        s
          .slice(1)
          .map((d) => d ?? '?')
          .join('x');
      throw new ModelLoadError(
        'BAD_SAMPLES',
        `The model expects inputs of ${fmt(want)} (shape [${want.map((d) => d ?? '?').join(', ')}]), but was given ${fmt(x.shape)}: resize or preprocess the samples to ${fmt(want)}.`,
      );
    }
  }
  try {
    return model.predict(x);
  } catch (e) {
    throw new ModelLoadError('BUILD_FAILED', ...buildFailure(e, model.toJSON(null, false)));
  }
}

/** Splits tfjs' saved weight buffer back into decoded weights (float32/int32 only, as tfjs saves). */
function splitWeightData(specs: tf.io.WeightsManifestEntry[], data: ArrayBuffer): WeightTensor[] {
  let offset = 0;
  return specs.map((s) => {
    const n = s.shape.reduce((p, d) => p * d, 1);
    const bytes = data.slice(offset, offset + n * 4);
    offset += n * 4;
    const dtype = s.dtype === 'int32' ? 'int32' : 'float32';
    return {
      name: s.name,
      shape: [...s.shape],
      dtype,
      values: dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes),
    };
  });
}

/** The topology each model `loadLayersModelFromArtifacts` built was given (its initializers as written). */
const builtFrom = new WeakMap<tf.LayersModel, unknown>();

/**
 * `saved` (a topology tfjs wrote) with every StartingWeight initializer put back as the topology the
 * model was built from had it (by layer name and key; Zeros where that is gone): StartingWeight only
 * exists while a model is built, and no file may name it.
 */
function restoredInitializers(saved: unknown, original: unknown): unknown {
  const byLayer = new Map<string, Record<string, unknown>>();
  for (const l of layerEntries(original)) if (isRecord(l.config)) byLayer.set(l.name, l.config);
  const walk = (v: unknown, layer: string | undefined, depth: number): unknown => {
    if (depth > 64) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, layer, depth + 1));
    if (!isRecord(v)) return v;
    const name = typeof v['name'] === 'string' ? v['name'] : layer;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.endsWith('_initializer') && isRecord(x) && x['class_name'] === StartingWeight.className) {
        out[k] = (name !== undefined ? byLayer.get(name)?.[k] : undefined) ?? {
          class_name: 'Zeros',
          config: {},
        };
      } else out[k] = walk(x, name, depth + 1);
    }
    return out;
  };
  return walk(saved, undefined, 0);
}

/** Snapshots a live `tf.LayersModel` (e.g. after fine-tuning or training) into artifacts. */
export async function artifactsFromLayersModel(model: tf.LayersModel): Promise<ModelArtifactsData> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  if (!saved?.weightSpecs || !saved.weightData) throw new Error('Model saved no weights.');
  const data = Array.isArray(saved.weightData)
    ? tf.io.concatenateArrayBuffers(saved.weightData)
    : saved.weightData;
  const original = builtFrom.get(model);
  const topology =
    original === undefined ? saved.modelTopology : restoredInitializers(saved.modelTopology, original);
  const out: ModelArtifactsData = {
    modelTopology: topology as ModelArtifactsData['modelTopology'],
    weights: splitWeightData(saved.weightSpecs, data),
    format: saved.format ?? 'layers-model',
    generatedBy: saved.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: saved.convertedBy ?? null,
  };
  if (saved.userDefinedMetadata) out.userDefinedMetadata = saved.userDefinedMetadata;
  return out;
}
