/**
 * What the Keras readers and writers share: the Keras 3 -> Keras 2 / TF.js config normalisation, the
 * model tree with Keras's own layer order, and the portable form of a layer's config. What Keras says
 * about each class (its variables, the arguments both Keras 2 and 3 accept) is a column of the rules
 * table (ir/layer-rules.ts).
 *
 * Artifacts always hold the Keras 2 / TF.js form (`inbound_nodes: [[[name, node, tensor, kwargs]]]`,
 * `batch_input_shape`, plain `{class_name, config}` objects, string dtypes), whatever file they came
 * from: every later stage (IR, surgery, tfjs) reads that one form. Writers convert back.
 *
 * Layer order matters more than it seems: Keras matches weights to layers by POSITION in legacy .h5
 * files (`layer_names`, then each group's `weight_names`) and by class-name counters in .keras files
 * (`layers/conv2d`, `layers/conv2d_1`, ... numbered in `model.layers` order, not by layer name). For a
 * Functional model that order is the one Keras's `map_graph` computes (keras/src/ops/function.py):
 * layers by decreasing depth from the outputs, ties by first visit of a depth-first walk from the
 * outputs. `kerasLayerOrder` reproduces it; for files Keras wrote it equals the config's order.
 */
import type { KerasLayerJSON, KerasModelTopology } from '../ir/keras-json';
import { validateModelConfig } from '../ir/validate-config';
import { kerasClassOf } from '../ir/layer-rules';
import { ModelLoadError } from './errors';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keras `naming.to_snake_case`: `Conv2D` -> `conv2d`, `BatchNormalization` -> `batch_normalization`, `ReLU` -> `re_lu`. */
export function toSnakeCase(name: string): string {
  const s = name.replace(/\W+/g, '').replace(/(.)([A-Z][a-z]+)/g, '$1_$2');
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Classes whose config is a model (`layers`, and for Functional `input_layers`/`output_layers`). */
export const MODEL_CLASSES: ReadonlySet<string> = new Set(['Sequential', 'Functional', 'Model']);

/**
 * The variables a layer class creates, in creation order (= Keras's `layer.weights` order and the
 * `vars/0..n` order of a .keras file), named as Keras 2 / TF.js name them; `undefined` for classes
 * the rules table has no Keras row for (their weights keep the names the file gives). Example:
 * BatchNormalization with `scale: false` -> `['beta', 'moving_mean', 'moving_variance']`.
 */
export function kerasWeightRoles(className: string, config: Record<string, unknown>): string[] | undefined {
  return kerasClassOf(className)?.roles?.(config);
}

/** Variables Keras creates with `trainable=False` (they come after the trainable ones in legacy .h5 order). */
export function isNonTrainableRole(className: string, role: string): boolean {
  return kerasClassOf(className)?.nonTrainable?.includes(role) ?? false;
}

// ---------------------------------------------------------------------------------------------------
// Keras 3 -> Keras 2 / TF.js form

const DTYPE_POLICIES = new Set(['DTypePolicy', 'FloatDTypePolicy', 'QuantizedDTypePolicy', 'Policy']);

/** Values of a Keras 3 config in Keras 2 form: dtype policies -> their name, `{module, class_name, config, registered_name}` -> `{class_name, config}`, `__tuple__` -> a list. */
function legacyValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(legacyValue);
  if (!isRecord(v)) return v;
  const cls = v['class_name'];
  if (typeof cls === 'string' && 'config' in v) {
    const config = v['config'];
    if (cls === '__tuple__' && isRecord(config)) return legacyValue(config['value']);
    if (DTYPE_POLICIES.has(cls) && isRecord(config) && typeof config['name'] === 'string')
      return config['name'];
    return { class_name: cls, config: legacyValue(config) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = legacyValue(x);
  return out;
}

type Ref = [string, number, number];

/** `[name, node, tensor]` of every Keras 3 `__keras_tensor__` in a value, in order. */
function kerasTensorRefs(v: unknown, out: Ref[] = []): Ref[] {
  if (Array.isArray(v)) v.forEach((x) => kerasTensorRefs(x, out));
  else if (isRecord(v)) {
    const cfg = v['config'];
    const hist = v['class_name'] === '__keras_tensor__' && isRecord(cfg) ? cfg['keras_history'] : undefined;
    if (Array.isArray(hist) && typeof hist[0] === 'string') {
      out.push([hist[0], Number(hist[1] ?? 0), Number(hist[2] ?? 0)]);
    } else Object.values(v).forEach((x) => kerasTensorRefs(x, out));
  }
  return out;
}

function hasKerasTensor(v: unknown): boolean {
  return kerasTensorRefs(v).length > 0;
}

/**
 * A Keras 3 inbound node `{args, kwargs}` as a Keras 2 node `[[name, node, tensor, kwargs], ...]`.
 * `shift(name)` adds 1 to the node index of refs to nested Sequentials: Keras 3 counts their call
 * from 0, Keras 2 and TF.js from 1 (their construction is node 0), as for Functional models in both.
 */
function legacyNode(node: unknown, shift: (name: string) => number): unknown {
  if (Array.isArray(node)) return node; // already Keras 2 form
  if (!isRecord(node)) return node;
  const kwargs: Record<string, unknown> = {};
  if (isRecord(node['kwargs'])) {
    for (const [k, x] of Object.entries(node['kwargs'])) if (!hasKerasTensor(x)) kwargs[k] = legacyValue(x);
  }
  const refs = [...kerasTensorRefs(node['args']), ...kerasTensorRefs(node['kwargs'])];
  return refs.map(([name, n, t]) => [name, n + shift(name), t, kwargs]);
}

/** `input_layers` / `output_layers` as a list of `[name, node, tensor]` (Keras 3 writes a single ref bare). */
export function endpointList(v: unknown): Ref[] {
  if (!Array.isArray(v)) return isRecord(v) ? Object.values(v).flatMap(endpointList) : [];
  if (typeof v[0] === 'string') return [[v[0], Number(v[1] ?? 0), Number(v[2] ?? 0)]];
  return v.flatMap(endpointList);
}

function isModelEntry(className: string, config: unknown): boolean {
  return (
    MODEL_CLASSES.has(className) &&
    (Array.isArray(config) || (isRecord(config) && Array.isArray(config['layers'])))
  );
}

function legacyLayerConfig(className: string, config: Record<string, unknown>): Record<string, unknown> {
  const c = legacyValue(config) as Record<string, unknown>;
  if (className === 'InputLayer') {
    if (c['batch_input_shape'] === undefined && Array.isArray(c['batch_shape'])) {
      c['batch_input_shape'] = c['batch_shape'];
    }
    delete c['batch_shape'];
    if (c['optional'] === false) delete c['optional'];
  }
  if (className === 'LeakyReLU' && c['alpha'] === undefined && typeof c['negative_slope'] === 'number') {
    c['alpha'] = c['negative_slope'];
    delete c['negative_slope'];
  }
  return c;
}

function legacyModelConfig(className: string, config: unknown): unknown {
  if (Array.isArray(config)) return config.map((e) => legacyEntry(e, () => 0)); // Keras 1/early 2 Sequential
  const c = config as Record<string, unknown>;
  const layers = c['layers'] as unknown[];
  const sequentials = new Set(
    layers.flatMap((e) =>
      isRecord(e) && e['class_name'] === 'Sequential' && isRecord(e['config'])
        ? [String(e['config']['name'] ?? e['name'])]
        : [],
    ),
  );
  const keras3 = layers.some((e) => isRecord(e) && 'module' in e);
  const shift = (name: string) => (keras3 && sequentials.has(name) ? 1 : 0);
  const out: Record<string, unknown> = { name: c['name'] };
  if (typeof c['trainable'] === 'boolean') out['trainable'] = c['trainable'];
  out['layers'] = layers.map((e) => legacyEntry(e, shift));
  if (className !== 'Sequential') {
    for (const key of ['input_layers', 'output_layers']) {
      out[key] = endpointList(c[key]).map(([n, node, t]) => [n, node + shift(n), t]);
    }
  }
  return out;
}

function legacyEntry(e: unknown, shift: (name: string) => number): KerasLayerJSON {
  if (
    !isRecord(e) ||
    typeof e['class_name'] !== 'string' ||
    !(isRecord(e['config']) || Array.isArray(e['config']))
  ) {
    return e as KerasLayerJSON; // buildModelIR names what is wrong with it
  }
  const className = e['class_name'];
  const config = isModelEntry(className, e['config'])
    ? legacyModelConfig(className, e['config'])
    : legacyLayerConfig(className, e['config'] as Record<string, unknown>);
  const out: KerasLayerJSON = { class_name: className, config: config as KerasLayerJSON['config'] };
  if (typeof e['name'] === 'string') out.name = e['name'];
  if (Array.isArray(e['inbound_nodes']))
    out.inbound_nodes = e['inbound_nodes'].map((n) => legacyNode(n, shift));
  return out;
}

/**
 * Any Keras model config (Keras 2 `model_config`, Keras 3 `config.json`, with or without the
 * `{keras_version, model_config}` wrapper) in the Keras 2 / TF.js form artifacts hold; a Keras 2 config
 * comes back unchanged but for `module`, `registered_name` and `build_config`. Throws `BAD_TOPOLOGY`
 * naming `file` when it is not a Sequential or Functional model.
 */
export function normalizeKerasConfig(json: unknown, file: string): KerasModelTopology {
  let root = json;
  if (isRecord(root) && isRecord(root['model_config'])) root = root['model_config'];
  if (
    !isRecord(root) ||
    typeof root['class_name'] !== 'string' ||
    !isModelEntry(root['class_name'], root['config'])
  ) {
    const what = isRecord(root)
      ? `class ${JSON.stringify(root['class_name'])}`
      : JSON.stringify(root)?.slice(0, 60);
    throw new ModelLoadError(
      'BAD_TOPOLOGY',
      `'${file}' does not hold a Keras Sequential or Functional model config (found ${what}); subclassed models cannot be read from their config.`,
      { file },
    );
  }
  const className = root['class_name'];
  return {
    class_name: className,
    config: legacyModelConfig(className, root['config']) as KerasModelTopology['config'],
  };
}

// ---------------------------------------------------------------------------------------------------
// The model tree and Keras's layer order

/** One entry of a model config, with its place in the tree. */
export interface KerasLayerNode {
  /** Its name inside its model (`conv1`). */
  local: string;
  /** Its name from the top, as the IR names it (`base/conv1`). */
  scoped: string;
  className: string;
  entry: KerasLayerJSON;
  /** Names of the entries feeding it (Functional only; Keras 2 form refs). */
  inbound: string[];
  /** Set when the entry is itself a model. */
  model?: KerasModelNode;
}

export interface KerasModelNode {
  className: string;
  name: string;
  /** Scoped name of the model's entry; `undefined` for the top-level model. */
  scoped?: string;
  config: Record<string, unknown>;
  /** Entries in config order. */
  layers: KerasLayerNode[];
  /** Functional only: `input_layers` / `output_layers` refs. */
  inputs: Ref[];
  outputs: Ref[];
}

function entryName(e: KerasLayerJSON, i: number): string {
  const n = e.config?.name ?? e.name;
  if (typeof n !== 'string' || n === '')
    throw new ModelLoadError('BAD_TOPOLOGY', `Layer #${i} (${e.class_name}) has no name.`);
  return n;
}

/** `[name, node, tensor]` refs of a Keras 2 form inbound node. */
function legacyRefs(node: unknown): Ref[] {
  if (!Array.isArray(node)) return [];
  if (typeof node[0] === 'string') return [[node[0], Number(node[1] ?? 0), Number(node[2] ?? 0)]];
  return node.flatMap(legacyRefs);
}

function buildModelNode(
  className: string,
  config: unknown,
  name: string,
  scoped: string | undefined,
): KerasModelNode {
  const cfg = Array.isArray(config) ? { name, layers: config } : (config as Record<string, unknown>);
  const entries = (cfg['layers'] as KerasLayerJSON[]) ?? [];
  const layers = entries.map((entry, i): KerasLayerNode => {
    const local = entryName(entry, i);
    const s = scoped === undefined ? local : `${scoped}/${local}`;
    const node: KerasLayerNode = {
      local,
      scoped: s,
      className: entry.class_name,
      entry,
      inbound: (entry.inbound_nodes ?? [])
        .slice(0, 1)
        .flatMap(legacyRefs)
        .map((r) => r[0]),
    };
    if (isModelEntry(entry.class_name, entry.config)) {
      node.model = buildModelNode(entry.class_name, entry.config, local, s);
    }
    return node;
  });
  return {
    className,
    name: typeof cfg['name'] === 'string' ? cfg['name'] : name,
    ...(scoped === undefined ? {} : { scoped }),
    config: cfg,
    layers,
    inputs: endpointList(cfg['input_layers']),
    outputs: endpointList(cfg['output_layers']),
  };
}

/** The tree of a Keras 2 / TF.js form topology (nested models as subtrees). */
export function kerasModelTree(topology: KerasModelTopology): KerasModelNode {
  validateModelConfig(topology);
  const t = topology as unknown as Record<string, unknown>;
  const mc = isRecord(t['model_config']) ? t['model_config'] : t;
  const cfg = mc['config'];
  const name = isRecord(cfg) && typeof cfg['name'] === 'string' ? cfg['name'] : 'model';
  return buildModelNode(String(mc['class_name']), cfg, name, undefined);
}

/**
 * Keras's `model.layers` order: a Sequential's entries without a leading InputLayer; a Functional's
 * by decreasing depth, ties by first visit from the outputs (see the module comment). Layers that no
 * output depends on are not part of a Keras model and are left out.
 */
export function kerasLayerOrder(model: KerasModelNode): KerasLayerNode[] {
  if (model.className === 'Sequential') {
    return model.layers[0]?.className === 'InputLayer' ? model.layers.slice(1) : [...model.layers];
  }
  const byName = new Map(model.layers.map((l) => [l.local, l] as const));
  const inputNames = new Set(model.inputs.map((r) => r[0]));
  const finished = new Set<string>();
  const inProgress = new Set<string>();
  const postOrder: string[] = [];
  const firstVisit = new Map<string, number>();
  const visit = (name: string): void => {
    if (finished.has(name)) return;
    if (inProgress.has(name)) {
      throw new ModelLoadError('BAD_TOPOLOGY', `The model '${model.name}' has a cycle through '${name}'.`, {
        layer: name,
      });
    }
    const layer = byName.get(name);
    if (!layer) {
      throw new ModelLoadError(
        'BAD_TOPOLOGY',
        `The model '${model.name}' refers to a layer '${name}' it does not have.`,
        {
          layer: name,
        },
      );
    }
    if (!firstVisit.has(name)) firstVisit.set(name, firstVisit.size);
    inProgress.add(name);
    if (layer.className !== 'InputLayer' && !inputNames.has(name)) layer.inbound.forEach(visit);
    inProgress.delete(name);
    finished.add(name);
    postOrder.push(name);
  };
  for (const [name] of model.outputs) visit(name);
  const depth = new Map<string, number>();
  for (const name of [...postOrder].reverse()) {
    const d = depth.get(name) ?? 0;
    depth.set(name, d);
    const layer = byName.get(name)!;
    if (layer.className === 'InputLayer' || inputNames.has(name)) continue;
    for (const src of layer.inbound) depth.set(src, Math.max(d + 1, depth.get(src) ?? 0));
  }
  for (const name of inputNames) {
    if (!depth.has(name) && byName.has(name)) {
      depth.set(name, 0);
      firstVisit.set(name, -1);
    }
  }
  return [...depth.keys()]
    .sort((a, b) => depth.get(b)! - depth.get(a)! || firstVisit.get(a)! - firstVisit.get(b)!)
    .map((n) => byName.get(n)!);
}

/** Every leaf layer and nested model of the tree, depth-first in config order. */
export function allLayerNodes(model: KerasModelNode): KerasLayerNode[] {
  return model.layers.flatMap((l) => (l.model ? [l, ...allLayerNodes(l.model)] : [l]));
}

/**
 * The weight-name prefix for a layer in artifacts: its own name where that is unique in the whole
 * model (what TF.js calls a nested layer's weights: `conv1/kernel`), else its scoped name
 * (`base/conv1/kernel`); `buildModelIR` resolves both.
 */
export function weightPrefixes(tree: KerasModelNode): Map<string, string> {
  const nodes = allLayerNodes(tree);
  const count = new Map<string, number>();
  for (const n of nodes) {
    count.set(n.local, (count.get(n.local) ?? 0) + 1);
    if (n.scoped !== n.local) count.set(n.scoped, (count.get(n.scoped) ?? 0) + 1);
  }
  return new Map(nodes.map((n) => [n.scoped, count.get(n.local) === 1 ? n.local : n.scoped] as const));
}

/** TF.js writes some enum values in camelCase (`fanAvg`, `truncatedNormal`); Keras wants snake_case. */
const ENUM_VALUES: Readonly<Record<string, string>> = {
  fanIn: 'fan_in',
  fanOut: 'fan_out',
  fanAvg: 'fan_avg',
  truncatedNormal: 'truncated_normal',
  untruncatedNormal: 'untruncated_normal',
};

/**
 * A serialized initializer / regularizer / constraint in portable Keras 2 form: `{class_name, config}`
 * without `dtype` in the config (Keras 3 refuses `VarianceScaling(dtype=...)`, which tf.keras 2.2 wrote)
 * and with TF.js's camelCase enum values in snake_case.
 */
export function portableObject(v: unknown): unknown {
  if (!isRecord(v) || typeof v['class_name'] !== 'string') return v;
  const config: Record<string, unknown> = {};
  if (isRecord(v['config'])) {
    for (const [k, x] of Object.entries(v['config'])) {
      if (k === 'dtype') continue;
      config[k] = typeof x === 'string' && ENUM_VALUES[x] !== undefined ? ENUM_VALUES[x] : x;
    }
  }
  return { class_name: v['class_name'], config };
}

/** Keys whose values are serialized Keras objects, and their Keras 3 module. */
export function objectModule(key: string): string | undefined {
  if (key.endsWith('_initializer')) return 'keras.initializers';
  if (key.endsWith('_regularizer')) return 'keras.regularizers';
  if (key.endsWith('_constraint')) return 'keras.constraints';
  return undefined;
}

/** Arguments newer than tf.keras 2.4 (`groups` 2.3+, `keepdims` 2.6+): left out at their default value. */
const NEWER_DEFAULTS: Readonly<Record<string, unknown>> = { groups: 1, keepdims: false };

/**
 * A leaf layer's config with only the arguments both Keras versions accept (the rules table's Keras `args`), in Keras 2
 * form: `{name, trainable, dtype, ...args}`; BatchNormalization's `axis: [3]` becomes `3` (Keras 3
 * wants an int), `groups: 1` and `keepdims: false` are dropped (older tf.keras does not know them).
 * `batch_input_shape` is kept when present (a Sequential's first layer). Unknown classes keep every key.
 */
export function portableLayerConfig(
  className: string,
  config: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { name: config['name'] };
  out['trainable'] = typeof config['trainable'] === 'boolean' ? config['trainable'] : true;
  out['dtype'] = typeof config['dtype'] === 'string' ? config['dtype'] : 'float32';
  const allowed = kerasClassOf(className)?.args;
  const keys = allowed ?? Object.keys(config).filter((k) => !['name', 'trainable', 'dtype'].includes(k));
  for (const key of keys) {
    if (!(key in config)) continue;
    let v = config[key];
    if (objectModule(key) !== undefined) v = portableObject(v);
    if (className === 'BatchNormalization' && key === 'axis' && Array.isArray(v) && v.length === 1) v = v[0];
    if (NEWER_DEFAULTS[key] === v) continue;
    out[key] = v;
  }
  if (Array.isArray(config['batch_input_shape'])) out['batch_input_shape'] = config['batch_input_shape'];
  return out;
}
