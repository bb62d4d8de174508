/**
 * What tfjs's `fromConfig` relies on, checked before anything hands a config to it: "what the loader
 * accepts, tfjs builds". tfjs trusts the JSON: a null layer entry or a missing `config` throws a raw
 * TypeError, an inbound node naming a layer that is not there (or a call it never made, or a cycle)
 * makes `Container.fromConfig` re-queue the node forever (a synchronous loop that freezes the tab), and
 * a layer whose top-level `name` differs from `config.name` does the same, because tfjs files layers
 * under the top-level name and finds their callers under `config.name`.
 *
 * Runs on the Keras 2 / TF.js form artifacts hold (nested models recursively) and throws a
 * `ModelLoadError` naming the layer: `BAD_CONFIG` (malformed entry or field), `BAD_TOPOLOGY`
 * (unresolvable reference), `CYCLE`, `BAD_WEIGHTS` (0 filters or units), `LIMIT_EXCEEDED` (nesting).
 * Example: `{class_name: 'Conv2D', config: {name: 'c1'}, name: 'c2'}` ->
 * `BAD_CONFIG: Layer 'c1' is called 'c2' at the top of its entry ...`.
 */
import { ModelLoadError, type ModelLoadErrorCode } from '../errors';

/** Nested models deeper than this are refused (a real transfer-learning model nests 1 or 2 levels). */
export const MAX_MODEL_DEPTH = 16;
/** More layers than this in one file are refused (the largest Keras applications have ~800). */
export const MAX_LAYERS = 100_000;

const MODEL_CLASSES: ReadonlySet<string> = new Set(['Sequential', 'Functional', 'Model']);

/** Classes whose count argument (`filters` / `units`) sizes their weights. */
const COUNT_KEYS: Readonly<Record<string, string>> = {
  Conv1D: 'filters',
  Conv2D: 'filters',
  Conv3D: 'filters',
  Conv1DTranspose: 'filters',
  Conv2DTranspose: 'filters',
  Conv3DTranspose: 'filters',
  SeparableConv1D: 'filters',
  SeparableConv2D: 'filters',
  Dense: 'units',
};

/** Boolean switches that decide which weights a layer has; tfjs reads them by truthiness, we by type. */
const BOOLEAN_KEYS = ['use_bias', 'center', 'scale', 'trainable'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as it can be quoted in a one-line message: `null`, `42 (a number)`, `"abc"`, `an array`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array (${shortJson(v)})`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'object') return `an object (${shortJson(v)})`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${v} (a ${typeof v})`;
  return `a ${typeof v}`;
}

function shortJson(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

function fail(code: ModelLoadErrorCode, message: string, layer?: string): never {
  throw new ModelLoadError(code, message, layer === undefined ? {} : { layer });
}

type Ref = [string, number, number];

interface Entry {
  local: string;
  scoped: string;
  className: string;
  config: Record<string, unknown> | unknown[];
  raw: Record<string, unknown>;
  /** Functional only: refs of each inbound node. */
  nodes: Ref[][];
  /** Set when the entry is a nested model: how many outputs it has. */
  modelOutputs?: number;
}

/** A Keras 2 / TF.js ref `[name, nodeIndex, tensorIndex, kwargs?]`, or why it is not one. */
function parseRef(v: unknown): Ref | string {
  if (!Array.isArray(v)) return `${describeValue(v)} is not a [layer, node, tensor] reference`;
  const [name, node, tensor, kwargs] = v as unknown[];
  if (typeof name !== 'string' || name === '') return `${shortJson(v)} does not start with a layer name`;
  for (const [what, n] of [
    ['node', node],
    ['tensor', tensor],
  ] as const) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      return `${shortJson(v)} has ${what} index ${describeValue(n)}, not an integer >= 0`;
  }
  if (kwargs !== undefined && kwargs !== null && !isRecord(kwargs))
    return `${shortJson(v)} has call arguments ${describeValue(kwargs)}, not an object`;
  return [name, node as number, tensor as number];
}

/** Refs of a Keras 3 node `{args, kwargs}` (each `__keras_tensor__`'s `keras_history`). */
function keras3Refs(node: Record<string, unknown>, layer: string, className: string): Ref[] {
  const refs: Ref[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isRecord(v)) {
      const hist = isRecord(v['config']) ? v['config']['keras_history'] : undefined;
      if (hist !== undefined) {
        const ref = parseRef(hist);
        if (typeof ref === 'string')
          fail(
            'BAD_CONFIG',
            `Layer '${layer}' (${className}) has an inbound keras_history that ${ref}.`,
            layer,
          );
        refs.push(ref);
      } else Object.values(v).forEach(visit);
    }
  };
  visit(node['args']);
  visit(node['kwargs']);
  if (refs.length === 0) fail('BAD_TOPOLOGY', `Layer '${layer}' has an inbound node with no inputs.`, layer);
  return refs;
}

/**
 * The serialized objects tfjs can build, by kind, keyed without case or underscores so Keras and tfjs
 * spellings both match (`he_normal`, `HeNormal`; Keras `LecunNormal`, tfjs `LeCunNormal`;
 * `tfjsCompatibleTopology` rewrites the Keras-only spellings).
 */
const KNOWN_OBJECTS: Readonly<
  Record<'initializer' | 'regularizer' | 'constraint' | 'activation', ReadonlySet<string>>
> = {
  initializer: new Set([
    'zeros',
    'ones',
    'constant',
    'randomuniform',
    'randomnormal',
    'truncatednormal',
    'identity',
    'identityinitializer',
    'variancescaling',
    'glorotuniform',
    'glorotnormal',
    'henormal',
    'heuniform',
    'lecunnormal',
    'lecununiform',
    'orthogonal',
    'orthogonalinitializer',
  ]),
  regularizer: new Set(['l1l2', 'l1', 'l2']),
  constraint: new Set(['maxnorm', 'unitnorm', 'nonneg', 'minmaxnorm']),
  activation: new Set([
    'elu',
    'selu',
    'relu',
    'relu6',
    'linear',
    'sigmoid',
    'hardsigmoid',
    'softplus',
    'softsign',
    'tanh',
    'softmax',
    'logsoftmax',
    'gelu',
    'mish',
    'swish',
    'silu',
  ]),
};

function objectKind(key: string): keyof typeof KNOWN_OBJECTS {
  if (key.endsWith('_initializer')) return 'initializer';
  if (key.endsWith('_regularizer')) return 'regularizer';
  if (key.endsWith('_constraint')) return 'constraint';
  return 'activation';
}

const squash = (name: string) => name.replace(/_/g, '').toLowerCase();

/** Classes tfjs registers that are not layers, by exact name (`ReLU` is a layer, `relu` an activation). */
const NON_LAYER_CLASSES: Readonly<Record<string, string>> = Object.fromEntries<string>([
  ...[
    'Zeros',
    'Ones',
    'Constant',
    'RandomUniform',
    'RandomNormal',
    'TruncatedNormal',
    'Identity',
    'IdentityInitializer',
    'VarianceScaling',
    'GlorotUniform',
    'GlorotNormal',
    'HeNormal',
    'HeUniform',
    'LeCunNormal',
    'LeCunUniform',
    'LecunNormal',
    'LecunUniform',
    'Orthogonal',
    'OrthogonalInitializer',
  ].map((c) => [c, 'an initializer'] as const),
  ...['L1L2', 'L1', 'L2'].map((c) => [c, 'a regularizer'] as const),
  ...['MaxNorm', 'UnitNorm', 'NonNeg', 'MinMaxNorm'].map((c) => [c, 'a constraint'] as const),
  ...[
    'elu',
    'selu',
    'relu',
    'relu6',
    'linear',
    'sigmoid',
    'hardSigmoid',
    'softplus',
    'softsign',
    'tanh',
    'softmax',
    'logSoftmax',
    'gelu',
    'gelu_new',
    'mish',
    'swish',
  ].map((c) => [c, 'an activation'] as const),
  ...['Adadelta', 'Adagrad', 'Adam', 'Adamax', 'Momentum', 'RMSProp', 'SGD'].map(
    (c) => [c, 'an optimizer'] as const,
  ),
] as (readonly [string, string])[]);

/** What a class tfjs registers is when it is not a layer (`'an initializer'`), else `undefined`. */
export function nonLayerKind(className: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(NON_LAYER_CLASSES, className)
    ? NON_LAYER_CLASSES[className]
    : undefined;
}

/** A serialized Keras object (initializer, regularizer, constraint, activation): null, a known name, or a known `{class_name, config}`. */
function checkObjectField(layer: string, className: string, key: string, v: unknown): void {
  if (v === null || v === undefined) return;
  const kind = objectKind(key);
  const known = (name: string) => {
    if (!KNOWN_OBJECTS[kind].has(squash(name))) {
      fail(
        'BAD_CONFIG',
        `Layer '${layer}' (${className}) has ${key} ${describeValue(name)}, which is not a ${kind} TensorFlow.js knows.`,
        layer,
      );
    }
  };
  if (typeof v === 'string') {
    known(v);
    return;
  }
  if (!isRecord(v) || typeof v['class_name'] !== 'string' || v['class_name'] === '') {
    fail(
      'BAD_CONFIG',
      `Layer '${layer}' (${className}) has ${key} = ${describeValue(v)}; expected a name or a {class_name, config} object.`,
      layer,
    );
  }
  if (!isRecord(v['config'])) {
    fail(
      'BAD_CONFIG',
      `Layer '${layer}' (${className}) has ${key} '${v['class_name']}' whose config is ${describeValue(v['config'])}, not an object.`,
      layer,
    );
  }
  known(v['class_name']);
}

function isObjectKey(key: string): boolean {
  return (
    key === 'activation' ||
    key === 'recurrent_activation' ||
    key.endsWith('_initializer') ||
    key.endsWith('_regularizer') ||
    key.endsWith('_constraint')
  );
}

/** The fields of a leaf layer's config that tfjs reads without checking. */
function checkLayerFields(layer: string, className: string, config: Record<string, unknown>): void {
  for (const [key, v] of Object.entries(config)) {
    if (isObjectKey(key)) checkObjectField(layer, className, key, v);
  }
  for (const key of BOOLEAN_KEYS) {
    const v = config[key];
    if (v !== undefined && v !== null && typeof v !== 'boolean') {
      fail(
        'BAD_CONFIG',
        `Layer '${layer}' (${className}) has ${key} = ${describeValue(v)}; expected true or false.`,
        layer,
      );
    }
  }
  for (const key of ['batch_input_shape', 'batch_shape']) {
    const v = config[key];
    if (v === undefined || v === null) continue;
    const ok =
      Array.isArray(v) &&
      v.length >= 1 &&
      v.length <= 6 &&
      v.every(
        (d, i) =>
          d === null || (typeof d === 'number' && Number.isInteger(d) && d >= 1) || (i === 0 && d === -1),
      );
    if (!ok) {
      fail(
        'BAD_CONFIG',
        `Layer '${layer}' (${className}) has ${key} = ${describeValue(v)}; expected a list of positive sizes (null for the batch).`,
        layer,
      );
    }
  }
  if (config['dtype'] !== undefined && config['dtype'] !== null && typeof config['dtype'] !== 'string') {
    fail(
      'BAD_CONFIG',
      `Layer '${layer}' (${className}) has dtype = ${describeValue(config['dtype'])}; expected a name like "float32".`,
      layer,
    );
  }
  if (
    className === 'InputLayer' &&
    !['batch_input_shape', 'batch_shape', 'input_shape'].some((k) => Array.isArray(config[k]))
  ) {
    fail('BAD_CONFIG', `InputLayer '${layer}' does not say its shape (no batch_input_shape).`, layer);
  }
  const countKey = COUNT_KEYS[className];
  if (countKey !== undefined) {
    const n = config[countKey];
    if (n === undefined) return; // the rules table names what is missing
    if (n === 0) {
      fail(
        'BAD_WEIGHTS',
        `Layer '${layer}' (${className}) has 0 ${countKey}: a layer with no outputs cannot run.`,
        layer,
      );
    }
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      fail(
        'BAD_CONFIG',
        `Layer '${layer}' (${className}) has ${countKey} = ${describeValue(n)}; expected a positive integer.`,
        layer,
      );
    }
  }
}

/** How many times tfjs will have called a layer (its `inboundNodes.length`) once the model is built. */
function callCount(e: Entry): number {
  if (e.className === 'InputLayer') return 1;
  return (e.modelOutputs !== undefined ? 1 : 0) + e.nodes.length;
}

interface Context {
  layers: number;
}

/** Checks one model config (Sequential, Functional, nested) and returns its number of outputs. */
function checkModel(
  className: string,
  config: unknown,
  scope: string | undefined,
  depth: number,
  ctx: Context,
): number {
  const where = scope === undefined ? 'The model' : `The nested model '${scope}'`;
  if (depth > MAX_MODEL_DEPTH) {
    fail(
      'LIMIT_EXCEEDED',
      `${where} is nested ${depth} models deep, over the limit of ${MAX_MODEL_DEPTH}.`,
      scope,
    );
  }
  if (!MODEL_CLASSES.has(className)) {
    fail(
      'BAD_TOPOLOGY',
      `${where}'s class is '${className}'; PruneLab reads Sequential and Functional models.`,
      scope,
    );
  }
  const functional = className !== 'Sequential';
  const cfg: Record<string, unknown> | undefined = Array.isArray(config)
    ? { layers: config }
    : isRecord(config)
      ? config
      : undefined;
  const list = cfg?.['layers'];
  if (!Array.isArray(list) || list.length === 0) {
    fail('BAD_TOPOLOGY', `${where} (${className}) lists no layers.`, scope);
  }
  if (functional && Array.isArray(config)) {
    fail(
      'BAD_CONFIG',
      `${where} (${className}) has a bare list of layers; a Functional config needs input_layers and output_layers.`,
      scope,
    );
  }
  ctx.layers += list.length;
  if (ctx.layers > MAX_LAYERS) fail('LIMIT_EXCEEDED', `The model has more than ${MAX_LAYERS} layers.`);

  const scoped = (local: string) => (scope === undefined ? local : `${scope}/${local}`);
  const entries = new Map<string, Entry>();
  const order: Entry[] = [];
  list.forEach((raw: unknown, i: number) => {
    const at = `Layer #${i}${scope === undefined ? '' : ` of '${scope}'`}`;
    if (!isRecord(raw))
      fail('BAD_CONFIG', `${at} is ${describeValue(raw)}, not a {class_name, config} object.`, scope);
    const cfgName = isRecord(raw['config']) ? raw['config']['name'] : undefined;
    const top = raw['name'];
    const label =
      typeof cfgName === 'string' && cfgName !== ''
        ? `'${scoped(cfgName)}'`
        : typeof top === 'string' && top !== ''
          ? `'${scoped(top)}'`
          : undefined;
    const named = label === undefined ? at : `${at} (${label})`;
    const layerArg = label === undefined ? scope : label.slice(1, -1);
    const cls = raw['class_name'];
    if (typeof cls !== 'string' || cls.trim() === '') {
      fail('BAD_CONFIG', `${named} has class_name ${describeValue(cls)}, not a class name.`, layerArg);
    }
    const c = raw['config'];
    const isModel =
      MODEL_CLASSES.has(cls) && (Array.isArray(c) || (isRecord(c) && Array.isArray(c['layers'])));
    if (MODEL_CLASSES.has(cls) && !isModel) {
      fail('BAD_CONFIG', `${named} is a ${cls} but its config lists no layers.`, layerArg);
    }
    const notLayer = nonLayerKind(cls);
    if (notLayer !== undefined) {
      fail('BAD_CONFIG', `${named} has class '${cls}', which is ${notLayer}, not a layer.`, layerArg);
    }
    if (!isRecord(c) && !isModel) {
      fail('BAD_CONFIG', `${named} (${cls}) has config ${describeValue(c)}, not an object.`, layerArg);
    }
    const name = isRecord(c) ? c['name'] : top;
    if (typeof name !== 'string' || name.trim() === '') {
      fail('BAD_CONFIG', `${at} (${cls}) has no name: config.name is ${describeValue(name)}.`, scope);
    }
    const s = scoped(name);
    if (top !== undefined && top !== name) {
      fail(
        'BAD_CONFIG',
        `Layer '${s}' (${cls}) is called ${describeValue(top)} at the top of its entry but '${name}' in its config; the two names must agree.`,
        s,
      );
    }
    if (entries.has(name)) fail('BAD_TOPOLOGY', `Two layers are named '${s}'.`, s);
    const entry: Entry = {
      local: name,
      scoped: s,
      className: cls,
      config: c as Entry['config'],
      raw,
      nodes: [],
    };
    if (isModel) entry.modelOutputs = checkModel(cls, c, s, depth + 1, ctx);
    else checkLayerFields(s, cls, c as Record<string, unknown>);
    if (functional) {
      const nodes = raw['inbound_nodes'];
      if (nodes !== undefined && !Array.isArray(nodes)) {
        fail('BAD_CONFIG', `Layer '${s}' (${cls}) has inbound_nodes ${describeValue(nodes)}, not a list.`, s);
      }
      entry.nodes = (nodes ?? []).map((node: unknown, n: number) => {
        if (isRecord(node)) return keras3Refs(node, s, cls);
        if (!Array.isArray(node) || node.length === 0) {
          fail(
            'BAD_CONFIG',
            `Layer '${s}' (${cls}) has inbound node ${n} = ${describeValue(node)}; expected a list of [layer, node, tensor] references.`,
            s,
          );
        }
        return node.map((r: unknown) => {
          const ref = parseRef(r);
          if (typeof ref === 'string')
            fail('BAD_CONFIG', `Layer '${s}' (${cls}) has an inbound reference that ${ref}.`, s);
          return ref;
        });
      });
    }
    entries.set(name, entry);
    order.push(entry);
  });
  if (!functional) return 1;

  // References: the layer exists, tfjs will have made the call they name, and the tensor exists.
  const checkRef = (ref: Ref, from: string, what: string): Entry => {
    const [target, node, tensor] = ref;
    const e = entries.get(target);
    if (!e) {
      fail(
        'BAD_TOPOLOGY',
        from === ''
          ? `${where}'s ${what} name '${scoped(target)}', which is not a layer.`
          : `Layer '${from}' takes its input from '${target}', which is not in the model.`,
        from === '' ? scoped(target) : from,
      );
    }
    const calls = callCount(e);
    if (node >= calls) {
      fail(
        'BAD_TOPOLOGY',
        `${from === '' ? `${where}'s ${what}` : `Layer '${from}'`} refer${from === '' ? '' : 's'} to call ${node} of '${e.scoped}', which is called ${calls === 1 ? 'once' : `${calls} times`}.`,
        from === '' ? e.scoped : from,
      );
    }
    const outputs = e.modelOutputs !== undefined && node > 0 ? e.modelOutputs : 1;
    if (tensor >= outputs) {
      fail(
        'BAD_TOPOLOGY',
        `${from === '' ? `${where}'s ${what}` : `Layer '${from}'`} read${from === '' ? '' : 's'} output ${tensor} of '${e.scoped}', which has ${outputs === 1 ? 'one output' : `${outputs} outputs`}.`,
        from === '' ? e.scoped : from,
      );
    }
    return e;
  };
  for (const e of order) {
    if (e.className === 'InputLayer' && e.nodes.length > 0) {
      fail('BAD_TOPOLOGY', `InputLayer '${e.scoped}' has an inbound layer.`, e.scoped);
    }
    for (const node of e.nodes) for (const ref of node) checkRef(ref, e.scoped, '');
  }
  const endpoints = (key: string): Ref[] => {
    const v = cfg![key];
    if (!Array.isArray(v) || v.length === 0) fail('BAD_TOPOLOGY', `${where} has no ${key}.`, scope);
    const refs = typeof v[0] === 'string' ? [v] : v;
    return refs.map((r: unknown) => {
      const ref = parseRef(Array.isArray(r) && r.length === 1 ? [r[0], 0, 0] : r);
      if (typeof ref === 'string') fail('BAD_TOPOLOGY', `${where}'s ${key} entry ${ref}.`, scope);
      return ref;
    });
  };
  const inputs = endpoints('input_layers');
  const outputs = endpoints('output_layers');
  for (const r of inputs) {
    const e = checkRef(r, '', 'input_layers');
    if (e.className !== 'InputLayer') {
      fail(
        'BAD_TOPOLOGY',
        `${where}'s input_layers name '${e.scoped}', a ${e.className}, not an InputLayer.`,
        e.scoped,
      );
    }
  }
  for (const r of outputs) checkRef(r, '', 'output_layers');

  // Acyclic (depth-first, iterative: a hostile file may chain thousands of layers).
  const state = new Map<string, 1 | 2>();
  for (const start of order) {
    if (state.get(start.local) === 2) continue;
    const stack: { e: Entry; next: number; refs: Ref[] }[] = [];
    const push = (e: Entry) => {
      state.set(e.local, 1);
      stack.push({ e, next: 0, refs: e.nodes.flat() });
    };
    push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.refs.length) {
        state.set(top.e.local, 2);
        stack.pop();
        continue;
      }
      const target = entries.get(top.refs[top.next++]![0])!;
      const s = state.get(target.local);
      if (s === 2) continue;
      if (s === 1) {
        const from = stack.findIndex((f) => f.e === target);
        const path = [...stack.slice(from).map((f) => f.e.scoped), target.scoped].reverse();
        fail('CYCLE', `The model has a cycle: ${path.join(' -> ')}.`, target.scoped);
      }
      push(target);
    }
  }

  // Every layer is called, leads to an output, and depends only on listed inputs: tfjs drops
  // layers off the path (their weights then have no target) and refuses a "graph disconnected".
  const listedInputs = new Set(inputs.map((r) => r[0]));
  const reached = new Set<string>();
  const todo = outputs.map((r) => r[0]);
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (reached.has(name)) continue;
    reached.add(name);
    const e = entries.get(name)!;
    if (e.className === 'InputLayer' && !listedInputs.has(name)) {
      fail(
        'BAD_TOPOLOGY',
        `${where} uses InputLayer '${e.scoped}', which its input_layers do not list.`,
        e.scoped,
      );
    }
    if (e.className !== 'InputLayer' && e.nodes.length === 0) {
      fail('BAD_TOPOLOGY', `Layer '${e.scoped}' (${e.className}) has no input.`, e.scoped);
    }
    for (const node of e.nodes) for (const [n] of node) todo.push(n);
  }
  for (const e of order) {
    if (!reached.has(e.local) && !listedInputs.has(e.local)) {
      fail(
        'BAD_TOPOLOGY',
        `Layer '${e.scoped}' (${e.className}) does not lead to any output of ${scope === undefined ? 'the model' : `'${scope}'`}.`,
        e.scoped,
      );
    }
  }
  return outputs.length;
}

/**
 * Checks a Keras 2 / TF.js form topology (`{class_name, config}`, or tfjs-converter's
 * `{model_config: {...}}`) against everything tfjs's `fromConfig` relies on; throws a `ModelLoadError`
 * naming the layer (see the module comment).
 */
export function validateModelConfig(topology: unknown): void {
  if (!isRecord(topology))
    fail('BAD_TOPOLOGY', `The model topology is ${describeValue(topology)}, not a JSON object.`);
  const mc = isRecord(topology['model_config']) ? topology['model_config'] : topology;
  const cls = mc['class_name'];
  if (typeof cls !== 'string' || mc['config'] === undefined) {
    fail('BAD_TOPOLOGY', 'The model topology has no class_name/config (is this a Keras LayersModel?).');
  }
  checkModel(cls, mc['config'], undefined, 0, { layers: 0 });
}
