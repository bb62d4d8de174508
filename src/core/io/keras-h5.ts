/**
 * Keras full-model HDF5 (`model.save('x.h5')`, tf.keras 2 and Keras 3's legacy writer):
 *
 *   /                      attrs: model_config (JSON), keras_version, backend, [training_config]
 *   /model_weights         attrs: layer_names (model.layers order), keras_version, backend
 *   /model_weights/conv2d  attrs: weight_names = ['conv2d/kernel:0', 'conv2d/bias:0']
 *   /model_weights/conv2d/conv2d/kernel:0   float32 [3, 3, 1, 8]
 *
 * A nested model is ONE group holding all its layers' weights (`model_weights/base/Conv1/kernel:0`),
 * trainable ones first: Keras reads them by position (`layer_names` with weights <-> `model.layers`
 * with weights, then `weight_names` <-> `layer.trainable_weights + layer.non_trainable_weights`), so
 * the writer reproduces that order exactly and the reader attributes by name, falling back to it.
 * Keras 3's legacy files name weights `sequential/conv2d/kernel` (no `:0`, extra scope) and call a
 * DepthwiseConv2D's kernel `kernel`; roles are matched by name where they can be, else by position.
 */
import type { InputFile, ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import { ModelLoadError } from './errors';
import type { ModelFormat, OpenedArtifacts } from './format';
import {
  isHdf5,
  readHdf5,
  writeHdf5,
  type H5DatasetView,
  type H5GroupView,
  type H5WriteAttr,
  type H5WriteGroup,
} from './hdf5';
import {
  allLayerNodes,
  isNonTrainableRole,
  kerasLayerOrder,
  kerasModelTree,
  kerasWeightRoles,
  normalizeKerasConfig,
  portableLayerConfig,
  weightPrefixes,
  type KerasLayerNode,
  type KerasModelNode,
} from './keras-config';
import { layerWeights, PROVENANCE_KEY, putDataset, weightsOnlyError } from './keras-common';
import { checkWeightDtype } from './weight-checks';
import { PRUNELAB_VERSION, stampWriter } from '../surgery/apply-plan';

/** A Keras 2 version to claim in files we write when the model did not come from Keras 2. */
export const KERAS2_VERSION = '2.15.0';

/** Attribute value as a list of strings (`|S` arrays come back as strings, an empty list as numbers). */
function stringList(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Keras's `HDF5_OBJECT_HEADER_LIMIT`: a string-list attribute larger than this is split into `name0`, `name1`, ... */
export const HDF5_ATTRIBUTE_LIMIT = 64512;

/** A string-list attribute, whole or in Keras's chunks (`weight_names0`, `weight_names1`, ...). */
function attrStrings(g: H5GroupView | undefined, name: string): string[] {
  if (!g) return [];
  if (g.attr(name) !== undefined) return stringList(g.attr(name));
  const out: string[] = [];
  for (let i = 0; g.attr(`${name}${i}`) !== undefined; i++) out.push(...stringList(g.attr(`${name}${i}`)));
  return out;
}

/**
 * A string list as Keras's `save_attributes_to_hdf5_group` writes it: one fixed-length attribute, or
 * (when it would pass `limit` bytes) the fewest near-equal chunks `name0`, `name1`... that fit.
 */
export function stringListAttrs(
  name: string,
  values: string[],
  limit = HDF5_ATTRIBUTE_LIMIT,
): [string, H5WriteAttr][] {
  if (values.length === 0) return [[name, { kind: 'empty' }]];
  const itemSize = Math.max(...values.map((v) => new TextEncoder().encode(v).byteLength)) + 1;
  let chunks = 1;
  // numpy.array_split: the first n % k chunks get one more element.
  const size = (k: number) => Math.ceil(values.length / k) * itemSize;
  while (size(chunks) > limit && chunks < values.length) chunks++;
  if (chunks === 1) return [[name, { kind: 'strings', values, fixed: true }]];
  const out: [string, H5WriteAttr][] = [];
  let at = 0;
  for (let i = 0; i < chunks; i++) {
    const n = Math.floor(values.length / chunks) + (i < values.length % chunks ? 1 : 0);
    out.push([`${name}${i}`, { kind: 'strings', values: values.slice(at, at + n), fixed: true }]);
    at += n;
  }
  return out;
}

/** `conv2d/kernel:0` -> `conv2d/kernel`. */
function stripIndex(name: string): string {
  return name.replace(/:\d+$/, '');
}

interface Found {
  /** The name as the file gives it (`weight_names` entry). */
  fileName: string;
  data: H5DatasetView;
}

/**
 * Roles for a plain layer's weights: by name when every name's last segment is one of the class's
 * roles, else by position when the counts agree, else the names as given (minus the layer prefix).
 */
function assignRoles(layer: KerasLayerNode, found: Found[]): string[] {
  const roles = kerasWeightRoles(layer.className, layer.entry.config);
  const last = found.map((f) => stripIndex(f.fileName).split('/').pop() ?? '');
  if (roles && last.every((r) => roles.includes(r)) && new Set(last).size === last.length) return last;
  if (roles && roles.length === found.length) return roles;
  return found.map((f) => {
    const parts = stripIndex(f.fileName).split('/');
    const at = parts.lastIndexOf(layer.local);
    return parts.slice(at >= 0 && at < parts.length - 1 ? at + 1 : parts.length - 1).join('/');
  });
}

/**
 * The legacy weight order of a nested model (Keras `layer.trainable_weights + layer.non_trainable_weights`):
 * the trainable variables of effectively trainable layers in `model.layers` order (recursively), then
 * all the others in the same order. Example: `[conv(k, b), bn(g, b, mean, var)]` ->
 * `conv/kernel, conv/bias, bn/gamma, bn/beta, bn/moving_mean, bn/moving_variance` when trainable, the
 * same per-layer order when frozen.
 */
export function legacyWeightOrder(
  model: KerasModelNode,
  trainable = true,
): { layer: KerasLayerNode; role: string }[] {
  const first: { layer: KerasLayerNode; role: string }[] = [];
  const rest: { layer: KerasLayerNode; role: string }[] = [];
  const walk = (m: KerasModelNode, parentTrainable: boolean): void => {
    for (const layer of kerasLayerOrder(m)) {
      const on = parentTrainable && layer.entry.config['trainable'] !== false;
      if (layer.model) walk(layer.model, on);
      else {
        for (const role of kerasWeightRoles(layer.className, layer.entry.config) ?? []) {
          (on && !isNonTrainableRole(layer.className, role) ? first : rest).push({ layer, role });
        }
      }
    }
  };
  walk(model, trainable);
  return [...first, ...rest];
}

/** The leaf of a nested model that a weight name like `model2/Conv1/kernel:0` belongs to, if the name says. */
function ownerByName(leaves: KerasLayerNode[], parts: string[]): KerasLayerNode | undefined {
  for (let j = parts.length - 1; j >= 0; j--) {
    const matches = leaves.filter((l) => l.local === parts[j]);
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      const scoped = parts.slice(0, j + 1).join('/');
      const exact = matches.filter((l) => l.scoped.endsWith(scoped));
      if (exact.length === 1) return exact[0];
    }
  }
  return undefined;
}

type Collected = Map<KerasLayerNode, { role: string; data: H5DatasetView }[]>;

function collectNested(top: KerasLayerNode, found: Found[], file: string, out: Collected): void {
  const model = top.model!;
  const leaves = allLayerNodes(model).filter((l) => !l.model);
  const byOwner = new Map<KerasLayerNode, Found[]>();
  let named = true;
  for (const f of found) {
    const parts = stripIndex(f.fileName).split('/');
    parts.pop();
    const owner = ownerByName(leaves, parts);
    if (!owner) {
      named = false;
      break;
    }
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), f]);
  }
  if (named) {
    for (const [layer, list] of byOwner) {
      const roles = assignRoles(layer, list);
      out.set(
        layer,
        list.map((f, i) => ({ role: roles[i]!, data: f.data })),
      );
    }
    return;
  }
  const order = legacyWeightOrder(model, top.entry.config['trainable'] !== false);
  if (order.length !== found.length) {
    throw new ModelLoadError(
      'WEIGHT_MISMATCH',
      `The weights of nested model '${top.local}' in '${file}' (${found.length}) cannot be matched to its layers: ` +
        `their names do not name its layers and its config implies ${order.length} weights.`,
      { file, layer: top.scoped },
    );
  }
  order.forEach(({ layer, role }, i) => {
    out.set(layer, [...(out.get(layer) ?? []), { role, data: found[i]!.data }]);
  });
}

function expectsWeights(layer: KerasLayerNode): boolean {
  if (layer.model) return allLayerNodes(layer.model).some((l) => !l.model && expectsWeights(l));
  return (kerasWeightRoles(layer.className, layer.entry.config)?.length ?? 0) > 0;
}

/** Reads `model_weights` into named, decoded weights (see the module comment). */
function readLegacyWeights(mw: H5GroupView, tree: KerasModelNode, file: string): WeightTensor[] {
  const order = kerasLayerOrder(tree);
  const groupOf = (name: string): H5GroupView | undefined => {
    const g = mw.get(name);
    return g?.kind === 'group' ? g : undefined;
  };
  const foundIn = (g: H5GroupView | undefined, where: string): Found[] =>
    attrStrings(g, 'weight_names').map((fileName) => {
      const d = g!.get(fileName);
      if (d?.kind !== 'dataset') {
        throw new ModelLoadError(
          'MISSING_WEIGHTS',
          `'${file}' lists weight '${fileName}' in ${where}/weight_names, but has no such dataset.`,
          { file },
        );
      }
      return { fileName, data: d };
    });

  // Layer groups by name; Keras itself matches by position, which is the fallback when names differ.
  const layerNames = attrStrings(mw, 'layer_names');
  const withWeights = layerNames.filter((n) => attrStrings(groupOf(n), 'weight_names').length > 0);
  const expected = order.filter(expectsWeights);
  const byName = expected.every((l) => withWeights.includes(l.local));
  const groups = new Map<KerasLayerNode, string>();
  if (byName || expected.length !== withWeights.length) {
    for (const l of order) if (groupOf(l.local)) groups.set(l, l.local);
  } else expected.forEach((l, i) => groups.set(l, withWeights[i]!));

  const collected: Collected = new Map();
  const used = new Set<string>();
  for (const layer of order) {
    const groupName = groups.get(layer);
    const found = groupName === undefined ? [] : foundIn(groupOf(groupName), `model_weights/${groupName}`);
    if (groupName !== undefined) used.add(groupName);
    if (found.length === 0) {
      if (expectsWeights(layer)) {
        throw new ModelLoadError(
          'MISSING_WEIGHTS',
          `Layer '${layer.local}' (${layer.className}) of the model config has no weights in '${file}' ` +
            `(no 'model_weights/${layer.local}' group with weight_names). Is the file from another model?`,
          { file, layer: layer.scoped },
        );
      }
      continue;
    }
    if (layer.model) collectNested(layer, found, file, collected);
    else {
      const roles = assignRoles(layer, found);
      collected.set(
        layer,
        found.map((f, i) => ({ role: roles[i]!, data: f.data })),
      );
    }
  }
  const extra = withWeights.filter((n) => !used.has(n));
  if (extra.length > 0) {
    throw new ModelLoadError(
      'WEIGHT_MISMATCH',
      `'${file}' has weights for ${extra.map((n) => `'${n}'`).join(', ')}, which the model config does not name as a layer.`,
      { file },
    );
  }

  const prefixes = weightPrefixes(tree);
  const weights: WeightTensor[] = [];
  for (const layer of allLayerNodes(tree)) {
    const roles = kerasWeightRoles(layer.className, layer.entry.config) ?? [];
    const rank = (r: string) => (roles.includes(r) ? roles.indexOf(r) : roles.length);
    const list = [...(collected.get(layer) ?? [])].sort((x, y) => rank(x.role) - rank(y.role));
    for (const { role, data } of list) {
      const arr = data.read();
      const name = `${prefixes.get(layer.scoped)!}/${role}`;
      checkWeightDtype(name, arr.stored, 'stored', { file, layer: layer.scoped });
      weights.push({
        name,
        shape: arr.shape,
        dtype: arr.dtype,
        values: arr.values,
      });
    }
  }
  return weights;
}

function parseJsonAttr(v: unknown, what: string, file: string): unknown {
  if (typeof v !== 'string') {
    throw new ModelLoadError('BAD_TOPOLOGY', `'${file}' has a '${what}' attribute that is not text.`, {
      file,
    });
  }
  try {
    return JSON.parse(v) as unknown;
  } catch (e) {
    throw new ModelLoadError(
      'BAD_TOPOLOGY',
      `'${file}' has a '${what}' attribute that is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      { file },
    );
  }
}

function readFromRoot(root: H5GroupView, file: string): ModelArtifactsData {
  const rawConfig = root.attr('model_config');
  if (rawConfig === undefined) {
    const keys = root.keys();
    if (root.attr('layer_names') !== undefined || keys.includes('layers') || keys.includes('vars')) {
      throw weightsOnlyError(file);
    }
    throw new ModelLoadError(
      'NO_MODEL_CONFIG',
      `'${file}' is an HDF5 file without a 'model_config' attribute, so it is not a Keras model file ` +
        `(its top level holds ${keys.length === 0 ? 'nothing' : keys.map((k) => `'${k}'`).join(', ')}).`,
      { file },
    );
  }
  const modelTopology = normalizeKerasConfig(parseJsonAttr(rawConfig, 'model_config', file), file);
  const version = root.attr('keras_version');
  const backend = root.attr('backend');
  if (typeof version === 'string') modelTopology.keras_version = version;
  if (typeof backend === 'string') modelTopology.backend = backend;
  const mw = root.get('model_weights') ?? (root.attr('layer_names') !== undefined ? root : undefined);
  if (mw?.kind !== 'group') {
    throw new ModelLoadError(
      'MISSING_WEIGHTS',
      `'${file}' has a model config but no 'model_weights' group: it holds the architecture only.`,
      { file },
    );
  }
  const weights = readLegacyWeights(mw, kerasModelTree(modelTopology), file);
  const out: ModelArtifactsData = {
    modelTopology,
    weights,
    format: 'layers-model',
    generatedBy: typeof version === 'string' ? `keras v${version}` : 'keras',
  };
  const prov = root.attr(PROVENANCE_KEY);
  if (prov !== undefined)
    out.userDefinedMetadata = { [PROVENANCE_KEY]: parseJsonAttr(prov, PROVENANCE_KEY, file) };
  return out;
}

/**
 * Reads a Keras full-model .h5 as artifacts (Keras 2 / TF.js topology form, weights `<layer>/<role>`),
 * checked by building its IR (returned with them). Throws `ModelLoadError`: `BAD_HDF5`, `WEIGHTS_ONLY`,
 * `NO_MODEL_CONFIG`, `MISSING_WEIGHTS`, `WEIGHT_MISMATCH`, `BAD_TOPOLOGY`.
 */
export async function readKerasH5(file: InputFile): Promise<OpenedArtifacts> {
  const artifacts = await readHdf5(file.bytes, file.path, (root) => readFromRoot(root, file.path));
  return { artifacts, ir: buildModelIR(artifacts) };
}

/** The HDF5 files among the given ones, `.weights.h5`-named last (a full model is what we want). */
function hdf5Files(files: InputFile[]): InputFile[] {
  const h5 = files.filter((f) => isHdf5(f.bytes));
  return [...h5].sort(
    (a, b) => Number(/\.weights\.h5$/i.test(a.path)) - Number(/\.weights\.h5$/i.test(b.path)),
  );
}

/** The Keras .h5 format plug-in: claims any HDF5 file (by its signature); opens the first full model. */
export const kerasH5Format: ModelFormat<OpenedArtifacts> = {
  id: 'keras-h5',
  description: 'a Keras .h5 model file',
  match: (files) => files.some((f) => isHdf5(f.bytes)),
  async open(files) {
    const candidates = hdf5Files(files);
    let firstError: ModelLoadError | undefined;
    for (const f of candidates) {
      try {
        return await readKerasH5(f);
      } catch (e) {
        if (!(e instanceof ModelLoadError) || (e.code !== 'WEIGHTS_ONLY' && e.code !== 'NO_MODEL_CONFIG'))
          throw e;
        firstError ??= e;
      }
    }
    throw firstError ?? new ModelLoadError('UNRECOGNIZED_FORMAT', 'None of the files is an HDF5 file.');
  },
};

// ---------------------------------------------------------------------------------------------------
// Writer

/** A unique name for the InputLayer put in front of a Sequential (Keras 2's `<first layer>_input`). */
function sequentialInputName(model: KerasModelNode): string {
  const taken = new Set(model.layers.map((l) => l.local));
  const base = `${model.layers[0]?.local ?? model.name}_input`;
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

/**
 * A Sequential's layer entries with its input spelt as a leading InputLayer. Keras 3's legacy loader
 * (legacy/saving/saving_utils.py `model_from_config`) turns a first layer's `batch_input_shape`
 * [null, 1280] into `input_shape` (None, 1280), and Sequential.add builds `InputLayer(shape=...)` from
 * it, which prepends ANOTHER batch axis: (None, None, 1280). A nested Sequential built that way then
 * refuses the (None, 1280) tensor its outer model feeds it (Functional `_adjust_input_rank`), which is
 * why the Teachable Machine export did not load. An InputLayer's `batch_input_shape` becomes its
 * `batch_shape` unchanged, and tf.keras 2 writes Sequentials in exactly this form itself.
 */
function sequentialEntries(model: KerasModelNode): Record<string, unknown>[] {
  const entries = model.layers.map((l) => portableEntry(l, false));
  const first = model.layers[0];
  const firstEntry = entries[0];
  if (!first || !firstEntry || first.model || first.className === 'InputLayer') return entries;
  const config = firstEntry['config'] as Record<string, unknown>;
  const batch = config['batch_input_shape'];
  if (!Array.isArray(batch)) return entries;
  delete config['batch_input_shape'];
  const input = {
    class_name: 'InputLayer',
    config: {
      batch_input_shape: batch,
      dtype: typeof config['dtype'] === 'string' ? config['dtype'] : 'float32',
      sparse: false,
      name: sequentialInputName(model),
    },
  };
  return [input, ...entries];
}

function portableTopology(model: KerasModelNode): Record<string, unknown> {
  if (model.className === 'Sequential') {
    return { class_name: 'Sequential', config: { name: model.name, layers: sequentialEntries(model) } };
  }
  const entries = model.layers.map((l) => portableEntry(l, true));
  return {
    // 'Model' is the name every Keras reads (tf.keras < 2.4 does not know 'Functional').
    class_name: 'Model',
    config: {
      name: model.name,
      layers: entries,
      input_layers: model.inputs.map((r) => [...r]),
      output_layers: model.outputs.map((r) => [...r]),
    },
  };
}

function portableEntry(layer: KerasLayerNode, functional: boolean): Record<string, unknown> {
  let out: Record<string, unknown>;
  if (layer.model) out = portableTopology(layer.model);
  else if (layer.className === 'InputLayer') {
    const c = layer.entry.config;
    out = {
      class_name: 'InputLayer',
      config: {
        batch_input_shape: c['batch_input_shape'] ?? c['batch_shape'],
        dtype: typeof c['dtype'] === 'string' ? c['dtype'] : 'float32',
        sparse: c['sparse'] === true,
        name: layer.local,
      },
    };
  } else
    out = { class_name: layer.className, config: portableLayerConfig(layer.className, layer.entry.config) };
  if (functional) {
    out['name'] = layer.local;
    out['inbound_nodes'] = layer.entry.inbound_nodes ?? [];
  }
  return out;
}

export interface WriteKerasOptions {
  /** `keras_version` to record (default: the model's own when it is 2.x, else `KERAS2_VERSION`). */
  kerasVersion?: string;
}

/**
 * Writes artifacts as a Keras 2 full-model .h5 that tf.keras 2 (and Keras 3's legacy loader) open
 * with `keras.models.load_model`: `model_config` in portable Keras 2 form (no DepthwiseConv2D `groups`,
 * no initializer `dtype`), weights in Keras's positional order, the PruneLab provenance record (if
 * any) in a root attribute `prunelab` (JSON, with `writer`), `saved_by` naming PruneLab and its version.
 * Every Sequential starts with an InputLayer (see `sequentialEntries`), so Keras 3 loads nested
 * Sequentials too. Not compiled: call `model.compile(...)` before `fit`.
 */
export async function writeKerasH5(
  model: ModelArtifactsData,
  opts: WriteKerasOptions = {},
): Promise<Uint8Array> {
  const ir = buildModelIR(model);
  const tree = kerasModelTree(model.modelTopology);
  const weightsOf = layerWeights(model, ir);
  const own =
    typeof model.modelTopology.keras_version === 'string' ? model.modelTopology.keras_version : undefined;
  // The legacy loaders read `keras_version` to decide which old-format conversions to apply, so it
  // names the Keras 2 format version the file follows; `saved_by` and `prunelab.writer` say who wrote it.
  const version = opts.kerasVersion ?? (own?.startsWith('2.') ? own : KERAS2_VERSION);
  const a = stampWriter(model, { format: 'keras-h5', formatVersion: version });

  const order = kerasLayerOrder(tree);
  const mw: H5WriteGroup = {
    kind: 'group',
    attrs: [
      ['backend', { kind: 'string', value: 'tensorflow' }],
      ['keras_version', { kind: 'string', value: version }],
      ...stringListAttrs(
        'layer_names',
        order.map((l) => l.local),
      ),
    ],
    children: [],
  };
  for (const layer of order) {
    const group: H5WriteGroup = { kind: 'group', children: [] };
    const names: string[] = [];
    const add = (owner: KerasLayerNode, role: string, name: string) => {
      const w = weightsOf(owner.scoped).get(role);
      if (!w) throw new Error(`writeKerasH5: no weight '${role}' for layer '${owner.scoped}'.`);
      names.push(name);
      putDataset(group, name, { kind: 'dataset', shape: [...w.shape], values: w.values });
    };
    if (layer.model) {
      const leaves = allLayerNodes(layer.model).filter((l) => !l.model);
      const unique = (l: KerasLayerNode) => leaves.filter((x) => x.local === l.local).length === 1;
      const prefixOf = (l: KerasLayerNode) => (unique(l) ? l.local : l.scoped.slice(layer.scoped.length + 1));
      for (const { layer: owner, role } of legacyWeightOrder(
        layer.model,
        layer.entry.config['trainable'] !== false,
      )) {
        add(owner, role, `${prefixOf(owner)}/${role}:0`);
      }
    } else {
      const roles = kerasWeightRoles(layer.className, layer.entry.config) ?? [
        ...weightsOf(layer.scoped).keys(),
      ];
      for (const role of roles) add(layer, role, `${layer.local}/${role}:0`);
    }
    group.attrs = stringListAttrs('weight_names', names);
    mw.children!.push([layer.local, group]);
  }

  const rootAttrs: H5WriteGroup['attrs'] = [
    ['backend', { kind: 'string', value: 'tensorflow' }],
    ['keras_version', { kind: 'string', value: version }],
    ['model_config', { kind: 'string', value: JSON.stringify(portableTopology(tree)) }],
    ['saved_by', { kind: 'string', value: `PruneLab ${PRUNELAB_VERSION}` }],
  ];
  const prov = a.userDefinedMetadata?.[PROVENANCE_KEY];
  if (prov !== undefined) rootAttrs.push([PROVENANCE_KEY, { kind: 'string', value: JSON.stringify(prov) }]);
  return writeHdf5({ kind: 'group', attrs: rootAttrs, children: [['model_weights', mw]] });
}
