/**
 * artifacts -> model IR: parses a Sequential or Functional Keras topology, flattens nested models
 * (a base model inside a transfer-learning model) into scoped layer names, orders the layers
 * topologically, infers every layer's shapes with the rules table, and ties each manifest weight to
 * its layer and role, checking its shape against what the config implies. Inner code trusts the IR.
 *
 * Classes missing from the rules table (Lambda, custom layers) load: their output keeps the input's
 * rank with unknown sizes, the next layer's weights tell the channel count, and the channel graph
 * freezes whatever reaches them.
 */
import { ModelLoadError } from '../errors';
import {
  configInputShape,
  lastDim,
  ruleOf,
  type AxisRole,
  type LayerRule,
  type RuleLayer,
  type WeightSpec,
} from './layer-rules';
import type { ModelArtifactsData, WeightTensor } from './artifacts';
import type { KerasLayerJSON, KerasModelTopology } from './keras-json';
import type { LayerIR, LayerWeightRef, ModelIR, ModelOrigin, Shape } from './model-ir';
import { validateModelConfig } from './validate-config';

/**
 * Most values one layer may output for one sample (float32: 512 MB). Far above real CNNs (VGG16's
 * largest is 3.2M at 224x224) and far below what a hostile `batch_input_shape` can ask for.
 */
export const MAX_ACTIVATION_VALUES = 2 ** 27;

/** The part of a topology that holds `class_name` and `config` (tfjs-converted files nest it in `model_config`). */
export interface ModelConfigJSON {
  class_name: string;
  config: KerasModelTopology['config'];
}

function badTopology(message: string, layer?: string): ModelLoadError {
  return new ModelLoadError('BAD_TOPOLOGY', message, layer === undefined ? {} : { layer });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Finds the model config inside a `modelTopology` (direct, or under `model_config` as the tfjs converter writes it). */
export function modelConfigOf(topology: KerasModelTopology): ModelConfigJSON {
  const t = topology as unknown;
  if (!isRecord(t)) throw badTopology('The model topology is not a JSON object.');
  const inner = isRecord(t['model_config']) ? t['model_config'] : t;
  if (typeof inner['class_name'] !== 'string' || inner['config'] === undefined) {
    throw badTopology('The model topology has no class_name/config (is this a Keras LayersModel?).');
  }
  return inner as unknown as ModelConfigJSON;
}

/** The layer list of a Sequential (`{layers}` or a legacy bare array) or Functional config. */
export function topologyLayers(mc: ModelConfigJSON): KerasLayerJSON[] {
  const cfg = mc.config as unknown;
  const layers = Array.isArray(cfg) ? cfg : isRecord(cfg) ? cfg['layers'] : undefined;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw badTopology(`The ${mc.class_name} model lists no layers.`);
  }
  return layers.map((l: unknown, i) => {
    if (!isRecord(l) || typeof l['class_name'] !== 'string' || !isRecord(l['config'])) {
      throw badTopology(`Layer #${i} of the model is not a {class_name, config} object.`);
    }
    return l as unknown as KerasLayerJSON;
  });
}

/** Classes whose config is itself a model: a layer of one of these with a `layers` list is a nested model. */
const MODEL_CLASSES: ReadonlySet<string> = new Set(['Sequential', 'Functional', 'Model']);

function layerName(l: KerasLayerJSON, i: number): string {
  const name = l.config.name ?? l.name;
  if (typeof name !== 'string' || name === '')
    throw badTopology(`Layer #${i} (${l.class_name}) has no name.`);
  return name;
}

/** The model config of a layer entry that is a nested model, else `undefined`. */
function nestedModelOf(l: KerasLayerJSON): ModelConfigJSON | undefined {
  if (!MODEL_CLASSES.has(l.class_name)) return undefined;
  const cfg = l.config as unknown;
  const ok = Array.isArray(cfg) || (isRecord(cfg) && Array.isArray(cfg['layers']));
  return ok
    ? { class_name: l.class_name, config: l.config as unknown as ModelConfigJSON['config'] }
    : undefined;
}

/**
 * Calls `visit(scopedName, entry)` for every layer entry of a topology, nested models' layers
 * included (named `model/layer`), in file order; the nested model's own entry is visited first.
 */
export function forEachLayerConfig(
  topology: KerasModelTopology,
  visit: (scopedName: string, entry: KerasLayerJSON) => void,
): void {
  const walk = (mc: ModelConfigJSON, scope: string | undefined): void => {
    topologyLayers(mc).forEach((l, i) => {
      const local = layerName(l, i);
      const name = scope === undefined ? local : `${scope}/${local}`;
      visit(name, l);
      const nested = nestedModelOf(l);
      if (nested) walk(nested, name);
    });
  };
  walk(modelConfigOf(topology), undefined);
}

type Ref = [string, number, number];

/** `[name, nodeIndex, tensorIndex]` references found anywhere in a Keras 2 / TF.js or Keras 3 node. */
function nodeRefs(node: unknown, layer: string): Ref[] {
  const refs: Ref[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      // Keras 2 / TF.js: [layerName, nodeIndex, tensorIndex, kwargs?]
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        refs.push([v[0], v[1], v[2]]);
        return;
      }
      v.forEach(visit);
    } else if (isRecord(v)) {
      // Keras 3: {class_name: '__keras_tensor__', config: {keras_history: [name, node, tensor]}}
      const hist = isRecord(v['config']) ? v['config']['keras_history'] : undefined;
      if (Array.isArray(hist) && typeof hist[0] === 'string') {
        refs.push([hist[0], Number(hist[1] ?? 0), Number(hist[2] ?? 0)]);
        return;
      }
      if ('args' in v) visit(v['args']);
      else Object.values(v).forEach(visit);
    }
  };
  if (isRecord(node) && 'args' in node) visit(node['args']);
  else visit(node);
  if (refs.length === 0) throw badTopology(`Layer '${layer}' has an inbound node with no inputs.`, layer);
  return refs;
}

/** `input_layers` / `output_layers`: `[[name, 0, 0], ...]`, or a single `[name, 0, 0]` (Keras 3). */
function endpointRefs(v: unknown, what: string): Ref[] {
  if (!Array.isArray(v) || v.length === 0) throw badTopology(`The Functional model has no ${what}.`);
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.map((e: unknown): Ref => {
    if (!Array.isArray(e) || typeof e[0] !== 'string') {
      throw badTopology(`The Functional model's ${what} entry ${JSON.stringify(e)} is malformed.`);
    }
    return [e[0], Number(e[1] ?? 0), Number(e[2] ?? 0)];
  });
}

interface ParsedLayer {
  /** Scoped name (`base/conv1` inside nested model `base`). */
  name: string;
  localName: string;
  scope: string | undefined;
  className: string;
  config: Record<string, unknown>;
  inbound: string[];
  /** Entry positions from the top-level list down, for the file-order `index`. */
  fileKey: number[];
  /** A model's first layer without an InputLayer: the input shape its config spells out. */
  configInput?: Shape;
  /** Keras 3 `build_config.input_shape`: a hint when the input comes from a layer of unknown shape. */
  buildInput?: Shape;
}

interface FlatModel {
  layers: ParsedLayer[];
  inputs: string[];
  outputs: string[];
}

interface FlattenContext {
  submodels: { name: string; className: string }[];
  nestedInputs: { config: string; source: string }[];
}

function parsedLayer(
  l: KerasLayerJSON,
  local: string,
  scope: string | undefined,
  fileKey: number[],
): ParsedLayer {
  const p: ParsedLayer = {
    name: scope === undefined ? local : `${scope}/${local}`,
    localName: local,
    scope,
    className: l.class_name,
    config: l.config,
    inbound: [],
    fileKey,
  };
  const build = (l as unknown as Record<string, unknown>)['build_config'];
  const hint = isRecord(build) ? build['input_shape'] : undefined;
  if (Array.isArray(hint) && hint.every((d) => d === null || typeof d === 'number'))
    p.buildInput = hint as Shape;
  return p;
}

/**
 * A Sequential's layers, chained. `external` is the tensor feeding it when it is nested (its own
 * InputLayer then disappears, and a `batch_input_shape` on its first layer is recorded for surgery).
 */
function flattenSequential(
  mc: ModelConfigJSON,
  scope: string | undefined,
  external: string | undefined,
  fileKey: number[],
  ctx: FlattenContext,
): FlatModel {
  const layers: ParsedLayer[] = [];
  const inputs: string[] = [];
  let prev = external;
  let first = true;
  topologyLayers(mc).forEach((l, i) => {
    const local = layerName(l, i);
    const key = [...fileKey, i];
    const p = parsedLayer(l, local, scope, key);
    const nested = nestedModelOf(l);
    if (l.class_name === 'InputLayer') {
      if (prev !== undefined) {
        if (external !== undefined && first) ctx.nestedInputs.push({ config: p.name, source: external });
        return;
      }
      layers.push(p);
      inputs.push(p.name);
      prev = p.name;
      first = false;
      return;
    }
    if (nested) {
      ctx.submodels.push({ name: p.name, className: l.class_name });
      const sub = flattenModel(nested, p.name, prev === undefined ? undefined : [prev], key, ctx);
      layers.push(...sub.layers);
      if (prev === undefined) inputs.push(...sub.inputs);
      prev = sub.outputs[0];
      first = false;
      return;
    }
    if (prev === undefined) {
      const shape = configInputShape(p);
      if (!shape) {
        throw badTopology(
          `The Sequential model does not say its input shape: its first layer '${p.name}' has no batch_input_shape.`,
          p.name,
        );
      }
      p.configInput = shape;
      inputs.push(`${p.name}_input`);
    } else {
      if (first && external !== undefined && configInputShape(p)) {
        ctx.nestedInputs.push({ config: p.name, source: external });
      }
      p.inbound = [prev];
    }
    layers.push(p);
    prev = p.name;
    first = false;
  });
  if (prev === undefined) throw badTopology(`The Sequential model '${scope ?? ''}' has no layers.`);
  return { layers, inputs, outputs: [prev] };
}

/**
 * A Functional model's layers in a stable topological order (file order when the file is already
 * ordered, as Keras and tfjs write it). `external` are the tensors feeding its inputs when nested.
 */
function flattenFunctional(
  mc: ModelConfigJSON,
  scope: string | undefined,
  external: string[] | undefined,
  fileKey: number[],
  ctx: FlattenContext,
): FlatModel {
  const cfg = mc.config as Record<string, unknown>;
  const scoped = (local: string) => (scope === undefined ? local : `${scope}/${local}`);
  const entries = new Map<string, { l: KerasLayerJSON; i: number; refs: Ref[] }>();
  topologyLayers(mc).forEach((l, i) => {
    const local = layerName(l, i);
    const name = scoped(local);
    if (entries.has(local)) throw badTopology(`Two layers are named '${name}'.`, name);
    const nodes = l.inbound_nodes ?? [];
    if (!Array.isArray(nodes)) throw badTopology(`Layer '${name}' has malformed inbound_nodes.`, name);
    if (nodes.length > 1) {
      throw new ModelLoadError(
        'UNSUPPORTED_LAYER',
        `Layer '${name}' is called ${nodes.length} times (shared weights), which PruneLab cannot analyse yet.`,
        { layer: name },
      );
    }
    entries.set(local, { l, i, refs: nodes.length === 0 ? [] : nodeRefs(nodes[0], name) });
  });
  const inputRefs = endpointRefs(cfg['input_layers'], 'input_layers');
  const outputRefs = endpointRefs(cfg['output_layers'], 'output_layers');

  const layers: ParsedLayer[] = [];
  /** local name -> the IR names of its output tensors (a nested model may have several). */
  const resolved = new Map<string, string[]>();
  const state = new Map<string, 'visiting' | 'done'>();

  // A ref to a nested model may name its call by any node index (Keras counts the model's own
  // construction as node 0, so the outer call is ['base', 1, 0]); plain layers are called once.
  const resolve = (ref: Ref, from: string, path: string[]): string => {
    const [target, node, tensor] = ref;
    const e = entries.get(target);
    if (!e) {
      throw badTopology(`Layer '${from}' takes its input from '${target}', which is not in the model.`, from);
    }
    visit(target, path);
    const outs = resolved.get(target)!;
    const isNested = nestedModelOf(e.l) !== undefined;
    if ((!isNested && node !== 0) || tensor !== 0) {
      if (!isNested || tensor >= outs.length) {
        throw new ModelLoadError(
          'UNSUPPORTED_LAYER',
          `Layer '${from}' reads output ${tensor} of call ${node} of '${scoped(target)}' (a shared or multi-output layer), which PruneLab cannot analyse yet.`,
          { layer: from },
        );
      }
    }
    return outs[tensor]!;
  };

  const visit = (local: string, path: string[]): void => {
    const s = state.get(local);
    if (s === 'done') return;
    const name = scoped(local);
    if (s === 'visiting') throw badTopology(`The model has a cycle: ${[...path, name].join(' -> ')}.`, name);
    state.set(local, 'visiting');
    const { l, i, refs } = entries.get(local)!;
    const inbound = refs.map((r) => resolve(r, name, [...path, name]));
    const key = [...fileKey, i];
    const nested = nestedModelOf(l);
    if (l.class_name === 'InputLayer' && external !== undefined) {
      const at = inputRefs.findIndex((r) => r[0] === local);
      const source = external[at];
      if (source === undefined)
        throw badTopology(`Nested model input '${name}' is not fed by the outer model.`, name);
      ctx.nestedInputs.push({ config: name, source });
      resolved.set(local, [source]);
    } else if (nested) {
      if (inbound.length === 0) throw badTopology(`Nested model '${name}' has no input.`, name);
      ctx.submodels.push({ name, className: l.class_name });
      const sub = flattenModel(nested, name, inbound, key, ctx);
      layers.push(...sub.layers);
      resolved.set(local, sub.outputs);
    } else {
      const p = parsedLayer(l, local, scope, key);
      p.inbound = inbound;
      layers.push(p);
      resolved.set(local, [name]);
    }
    state.set(local, 'done');
  };
  for (const local of entries.keys()) visit(local, []);

  const endpoint = (r: Ref): string => {
    const outs = entries.has(r[0]) ? resolved.get(r[0]) : undefined;
    const out = outs?.[r[2]];
    if (out === undefined)
      throw badTopology(`The model's inputs/outputs name '${scoped(r[0])}', which is not a layer.`);
    return out;
  };
  return {
    layers,
    inputs: external ?? inputRefs.map(endpoint),
    outputs: outputRefs.map(endpoint),
  };
}

function flattenModel(
  mc: ModelConfigJSON,
  scope: string | undefined,
  external: string[] | undefined,
  fileKey: number[],
  ctx: FlattenContext,
): FlatModel {
  if (mc.class_name === 'Sequential') return flattenSequential(mc, scope, external?.[0], fileKey, ctx);
  if (mc.class_name !== 'Model' && mc.class_name !== 'Functional') {
    throw badTopology(
      `The model's class is '${mc.class_name}'; PruneLab reads Sequential and Functional models.`,
    );
  }
  return flattenFunctional(mc, scope, external, fileKey, ctx);
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function fmt(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** Strips `:0` and splits a manifest name into scope segments and the role (last segment). */
function splitWeightName(name: string): { scopes: string[]; role: string } {
  const parts = name.replace(/:\d+$/, '').split('/');
  const role = parts.pop() ?? '';
  return { scopes: parts, role };
}

/**
 * Finds the layer a weight belongs to: the longest scope suffix naming a layer (`base/conv1/kernel`
 * -> `base/conv1`, `model/c/kernel` -> `c`, Keras 3 `layers/base/layers/conv1/vars/0` -> `base/conv1`),
 * else a nested layer's own name when it is unique
 * (tfjs writes `conv1/kernel` for `base/conv1`), else the nearest segment naming a layer.
 */
function ownerOf(scopes: string[], names: Set<string>, locals: Map<string, string>): string | undefined {
  // Keras 3 writes `layers/base/layers/conv/vars/0`: without its `layers`/`vars` segments that is `base/conv`.
  const bare = scopes.filter((s) => s !== 'layers' && s !== 'vars');
  for (const list of [scopes, bare]) {
    for (let i = 0; i < list.length; i++) {
      const candidate = list.slice(i).join('/');
      if (names.has(candidate)) return candidate;
    }
  }
  for (let i = scopes.length - 1; i >= 0; i--) {
    const s = scopes[i]!;
    if (names.has(s)) return s;
    const local = locals.get(s);
    if (local !== undefined) return local;
  }
  return undefined;
}

function expectedShape(spec: WeightSpec, inCh: number | null, outCh: number | null): (number | null)[] {
  return spec.axes.map((a: AxisRole) => {
    if (a.kind === 'fixed') return a.size;
    const ch = a.kind === 'in' ? inCh : outCh;
    return ch === null ? null : ch * a.factor;
  });
}

interface FoundWeight {
  index: number;
  role: string;
  weight: WeightTensor;
}

/** Keras 3 stores `vars/0..n`: numeric roles are taken in the class's creation order. */
function nameRoles(found: FoundWeight[], specs: WeightSpec[]): FoundWeight[] {
  if (found.length === 0 || !found.every((f) => /^\d+$/.test(f.role))) return found;
  const sorted = [...found].sort((a, b) => Number(a.role) - Number(b.role));
  return sorted.map((f, i) => ({ ...f, role: specs[i]?.role ?? f.role }));
}

function bindWeights(
  layer: ParsedLayer,
  rule: LayerRule,
  specs: WeightSpec[],
  found: FoundWeight[],
  inCh: number | null,
  outCh: number | null,
): LayerWeightRef[] {
  // An unknown class keeps whatever weights it has, unsliced (its groups are frozen).
  if (rule.status === 'unknown') {
    return found.map((f) => ({ role: f.role, weightIndex: f.index, shape: [...f.weight.shape] }));
  }
  const mismatch = (message: string) => new ModelLoadError('WEIGHT_MISMATCH', message, { layer: layer.name });
  const named = nameRoles(found, specs);
  const byRole = new Map<string, FoundWeight>();
  for (const f of named) {
    if (byRole.has(f.role)) {
      throw mismatch(`Layer '${layer.name}' (${layer.className}) has two weights with role '${f.role}'.`);
    }
    if (!specs.some((s) => s.role === f.role)) {
      throw mismatch(
        `Layer '${layer.name}' (${layer.className}) has an unexpected weight '${f.weight.name}' of shape ${fmt(f.weight.shape)}; its config implies ${specs.length === 0 ? 'no weights' : `only ${specs.map((s) => `'${s.role}'`).join(', ')}`}.`,
      );
    }
    byRole.set(f.role, f);
  }
  return specs.map((spec) => {
    const want = expectedShape(spec, inCh, outCh);
    const f = byRole.get(spec.role);
    if (!f) {
      throw mismatch(
        `Layer '${layer.name}' (${layer.className}) has no weight '${spec.role}' (expected shape ${fmt(want)}) in the weights manifest.`,
      );
    }
    const got = f.weight.shape;
    if (got.length !== want.length || want.some((d, i) => d !== null && d !== got[i])) {
      throw mismatch(
        `Weight '${spec.role}' of layer '${layer.name}' (${layer.className}) has shape ${fmt(got)}, but the layer's config and input imply ${fmt(want)} (manifest name '${f.weight.name}').`,
      );
    }
    if (f.weight.dtype !== 'float32') {
      // tfjs would reinterpret the int32 bytes as floats (or refuse the dtype): never what the file meant.
      throw new ModelLoadError(
        'BAD_WEIGHTS',
        `Weight '${f.weight.name}' of layer '${layer.name}' (${layer.className}) is declared ${f.weight.dtype}; a ${spec.role} holds float32 values.`,
        { layer: layer.name },
      );
    }
    return { role: spec.role, weightIndex: f.index, shape: [...got] };
  });
}

/**
 * The input channel count a layer's own weights spell out (a kernel's `in` axis), for an input of
 * unknown width (behind an unknown layer): Conv2D kernel `[3, 3, 16, 8]` says 16.
 */
function channelsFromWeights(
  rule: LayerRule,
  rl: RuleLayer,
  input: Shape,
  found: FoundWeight[],
): number | null {
  const specs = rule.weights?.(rl, input) ?? [];
  const named = nameRoles(found, specs);
  for (const spec of specs) {
    const axis = spec.axes.findIndex((a) => a.kind === 'in');
    const a = spec.axes[axis];
    const w = named.find((f) => f.role === spec.role)?.weight;
    if (a?.kind !== 'in' || !w || w.shape.length !== spec.axes.length) continue;
    const c = w.shape[axis]! / a.factor;
    if (Number.isInteger(c) && c > 0) return c;
  }
  return null;
}

/**
 * The record an importer of another format leaves in `userDefinedMetadata.origin` (io/onnx/origin.ts):
 * format, input layout, and the op and node behind each layer. Read structurally: ir/ knows no format.
 */
function originOf(
  a: ModelArtifactsData,
): (ModelOrigin & { layers: Record<string, { op: string; node: string }> }) | undefined {
  const o = a.userDefinedMetadata?.['origin'];
  if (!isRecord(o) || typeof o['format'] !== 'string' || !isRecord(o['layers'])) return undefined;
  const layout = o['inputLayout'];
  const layers: Record<string, { op: string; node: string }> = {};
  for (const [name, v] of Object.entries(o['layers'])) {
    if (isRecord(v) && typeof v['op'] === 'string' && typeof v['node'] === 'string')
      layers[name] = { op: v['op'], node: v['node'] };
  }
  return {
    format: o['format'],
    inputLayout: layout === 'NCHW' || layout === 'NC' ? layout : 'NHWC',
    layers,
  };
}

/**
 * Builds the IR of a Sequential or Functional LayersModel (nested models flattened into scoped
 * names); throws `ModelLoadError` (`BAD_TOPOLOGY`, `UNSUPPORTED_LAYER` for shared layers and
 * channels_first, `WEIGHT_MISMATCH`) naming the layer at fault. Unknown classes load (see above).
 * Example: a Sequential `[Conv2D 'c1' (batch_input_shape [null,28,28,1], 8 filters 3x3 valid), Flatten 'f']`
 * gives layers `c1: [null,28,28,1] -> [null,26,26,8]` (weights kernel `[3,3,1,8]`, bias `[8]`) and
 * `f: -> [null,5408]`, with `outputs = ['f']`; a Functional `img -> base(Model: base_in -> conv1) -> out`
 * gives layers `img, base/conv1, out` with `base/conv1` fed by `img`.
 */
export function buildModelIR(a: ModelArtifactsData): ModelIR {
  validateModelConfig(a.modelTopology);
  const mc = modelConfigOf(a.modelTopology);
  topologyLayers(mc);
  const cls = mc.class_name;
  const isSequential = cls === 'Sequential';
  if (!isSequential && cls !== 'Model' && cls !== 'Functional') {
    throw badTopology(`The model's class is '${cls}'; PruneLab reads Sequential and Functional models.`);
  }
  const ctx: FlattenContext = { submodels: [], nestedInputs: [] };
  const flat = flattenModel(mc, undefined, undefined, [], ctx);
  const ordered = flat.layers;

  const names = new Set<string>();
  for (const p of ordered) {
    if (names.has(p.name)) throw badTopology(`Two layers are named '${p.name}'.`, p.name);
    names.add(p.name);
  }
  const fileIndex = new Map(
    [...ordered].sort((x, y) => compareKeys(x.fileKey, y.fileKey)).map((p, i) => [p.name, i]),
  );
  // A nested layer's own name stands for it in weight names when no other layer has that name.
  const localCount = new Map<string, number>();
  for (const p of ordered) localCount.set(p.localName, (localCount.get(p.localName) ?? 0) + 1);
  const locals = new Map<string, string>();
  for (const p of ordered) {
    if (p.scope !== undefined && localCount.get(p.localName) === 1 && !names.has(p.localName)) {
      locals.set(p.localName, p.name);
    }
  }

  // Weights: manifest name -> layer + role.
  const byLayer = new Map<string, FoundWeight[]>();
  a.weights.forEach((weight, index) => {
    const { scopes, role } = splitWeightName(weight.name);
    const owner = ownerOf(scopes, names, locals);
    if (owner === undefined) {
      throw new ModelLoadError(
        'WEIGHT_MISMATCH',
        `Weight '${weight.name}' (shape ${fmt(weight.shape)}) does not belong to any layer of the model.`,
      );
    }
    const n = weight.shape.reduce((x, d) => x * d, 1);
    if (n !== weight.values.length) {
      throw new ModelLoadError(
        'WEIGHT_MISMATCH',
        `Weight '${weight.name}' has shape ${fmt(weight.shape)} (${n} values) but holds ${weight.values.length} values.`,
        { layer: owner },
      );
    }
    const list = byLayer.get(owner) ?? [];
    list.push({ index, role, weight });
    byLayer.set(owner, list);
  });

  // Shapes, in topological order. Behind an unknown layer sizes are unknown (null); the channel
  // count is read back from the next layer's weights, and a rule that cannot cope with the guessed
  // rank gives an unknown shape instead of failing the load.
  const shapes = new Map<string, { input: Shape[]; output: Shape }>();
  const uncertain = new Set<string>();
  for (const p of ordered) {
    const rule = ruleOf(p.className);
    const rl: RuleLayer = { name: p.name, className: p.className, config: p.config };
    if (rule.behaviour === 'input' && p.inbound.length > 0) {
      throw badTopology(`InputLayer '${p.name}' has an inbound layer.`, p.name);
    }
    if (rule.behaviour !== 'input' && p.inbound.length === 0 && !p.configInput) {
      throw badTopology(`Layer '${p.name}' (${p.className}) has no input.`, p.name);
    }
    let input = p.configInput ? [p.configInput] : p.inbound.map((from) => shapes.get(from)!.output);
    const guessed = p.inbound.some((from) => uncertain.has(from));
    if (guessed && p.buildInput && input.length === 1) input = [[...p.buildInput]];
    const first = input[0];
    if (first && first.length > 0 && lastDim(first) === null) {
      const c = channelsFromWeights(rule, rl, first, byLayer.get(p.name) ?? []);
      if (c !== null) {
        first[first.length - 1] = c;
        const src = p.inbound[0] === undefined ? undefined : shapes.get(p.inbound[0])?.output;
        if (src && src.length === first.length && lastDim(src) === null) src[src.length - 1] = c;
      }
    }
    let output: Shape;
    if (!guessed) output = rule.outputShape(rl, input);
    else {
      try {
        output = rule.outputShape(rl, input);
      } catch {
        const count = rule.countKey === undefined ? undefined : p.config[rule.countKey];
        const rank = first?.length ?? 2;
        output = [...Array<null>(Math.max(rank, 2) - 1).fill(null), typeof count === 'number' ? count : null];
      }
    }
    const size = output.slice(1).reduce<number>((n, d) => n * (d ?? 1), 1);
    if (size > MAX_ACTIVATION_VALUES) {
      throw new ModelLoadError(
        'LIMIT_EXCEEDED',
        `Layer '${p.name}' (${p.className}) outputs ${fmt(output)} = ${size} values per sample, over the limit of ${MAX_ACTIVATION_VALUES} (a ${(MAX_ACTIVATION_VALUES * 4) / 2 ** 20} MB activation).`,
        { layer: p.name },
      );
    }
    if (rule.status === 'unknown' || (guessed && output.slice(1).some((d) => d === null)))
      uncertain.add(p.name);
    shapes.set(p.name, { input, output });
  }

  const irLayers: LayerIR[] = ordered.map((p) => {
    const rule = ruleOf(p.className);
    const rl: RuleLayer = { name: p.name, className: p.className, config: p.config };
    const { input, output } = shapes.get(p.name)!;
    const inputShape = input[0] ?? output;
    const specs = rule.weights?.(rl, inputShape) ?? [];
    const weights = bindWeights(
      p,
      rule,
      specs,
      byLayer.get(p.name) ?? [],
      lastDim(inputShape),
      lastDim(output),
    );
    const layer: LayerIR = {
      index: fileIndex.get(p.name)!,
      name: p.name,
      className: p.className,
      config: p.config,
      inbound: p.inbound,
      weights,
      inputShape: [...inputShape],
      outputShape: [...output],
    };
    if (p.scope !== undefined) {
      layer.scope = p.scope;
      layer.localName = p.localName;
    }
    return layer;
  });

  const { inputs, outputs } = flat;
  for (const n of [...outputs, ...inputs]) {
    if (!names.has(n) && !(isSequential && n === inputs[0] && n.endsWith('_input'))) {
      throw badTopology(`The model's inputs/outputs name '${n}', which is not a layer.`);
    }
  }
  const firstInput = irLayers.find((l) => l.name === inputs[0]);
  const seqFirst = ordered[0]?.configInput;
  const cfg = mc.config as unknown;
  const modelName = isRecord(cfg) && typeof cfg['name'] === 'string' ? cfg['name'] : 'model';
  const ir: ModelIR = {
    name: modelName,
    kind: isSequential ? 'sequential' : 'functional',
    layers: irLayers,
    outputs,
    inputs,
    inputShape: [...(seqFirst ?? firstInput?.outputShape ?? irLayers[0]!.inputShape)],
  };
  const origin = originOf(a);
  if (origin) {
    ir.origin = { format: origin.format, inputLayout: origin.inputLayout };
    for (const l of ir.layers) {
      const o = origin.layers[l.name];
      if (o) l.origin = o;
    }
  }
  if (ctx.submodels.length > 0) ir.submodels = ctx.submodels;
  if (ctx.nestedInputs.length > 0) ir.nestedInputs = ctx.nestedInputs;
  return ir;
}
