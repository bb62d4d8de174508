/**
 * Keras 3 `.keras` archives: a zip of
 *
 *   metadata.json      {"keras_version": "3.11.3", "date_saved": "2025-09-10@22:30:40"}
 *   config.json        the model config, Keras 3 form (module/registered_name, DTypePolicy objects,
 *                      inbound nodes as {args, kwargs} of __keras_tensor__ objects, build_config)
 *   model.weights.h5   /layers/<key>/vars/0..n, nested models /layers/<model>/layers/<key>/vars/...,
 *                      /vars (the model's own, empty), /optimizer/vars (when compiled)
 *
 * `<key>` is NOT the layer's name: Keras names each entry of `model.layers` by its class in snake case,
 * numbered per class in that order (`conv2d`, `conv2d_1`, `batch_normalization`, ...; saving_lib
 * `_save_container_state`). Recent Keras 3 releases (3.11 wrote our fixture) also store the layer name
 * in the `name` attribute of `vars`; the reader uses it when present, else the class counters. Keras 2.13 wrote `_layer_checkpoint_dependencies`
 * instead of `layers`, on Windows with `\` in the group names (one group called
 * `_layer_checkpoint_dependencies\conv2d`): read as paths, with counters matched in order.
 */
import type { InputFile, ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import type { ModelIR, Shape } from '../ir/model-ir';
import { ModelLoadError } from './errors';
import { baseName, dirName, type ModelFormat, type OpenedArtifacts } from './format';
import { isHdf5, readHdf5, writeHdf5, type H5DatasetView, type H5GroupView, type H5WriteGroup } from './hdf5';
import { layerWeights, PROVENANCE_KEY, putDataset } from './keras-common';
import {
  allLayerNodes,
  isRecord,
  kerasLayerOrder,
  kerasModelTree,
  kerasWeightRoles,
  normalizeKerasConfig,
  objectModule,
  portableLayerConfig,
  toSnakeCase,
  weightPrefixes,
  type KerasLayerNode,
  type KerasModelNode,
} from './keras-config';
import { checkWeightDtype } from './weight-checks';
import { zipFilesAsync } from './zip';
import { PRUNELAB_VERSION, stampWriter } from '../surgery/apply-plan';

const UTF8 = new TextDecoder('utf-8');

function parseJsonFile(file: InputFile): unknown {
  try {
    return JSON.parse(UTF8.decode(file.bytes).replace(/^\uFEFF/, '')) as unknown;
  } catch (e) {
    throw new ModelLoadError(
      'NOT_JSON',
      `'${file.path}' is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      { file: file.path },
    );
  }
}

/** The three members of a (expanded) .keras archive: `config.json` and an HDF5 `model.weights.h5` in one folder. */
function findArchive(
  files: InputFile[],
): { config: InputFile; weights: InputFile; metadata?: InputFile } | undefined {
  for (const config of files.filter((f) => baseName(f.path) === 'config.json')) {
    const dir = dirName(config.path);
    const here = files.filter((f) => dirName(f.path) === dir);
    const weights =
      here.find((f) => baseName(f.path) === 'model.weights.h5' && isHdf5(f.bytes)) ??
      here.find((f) => isHdf5(f.bytes));
    if (!weights) continue;
    const metadata = here.find((f) => baseName(f.path) === 'metadata.json');
    return metadata ? { config, weights, metadata } : { config, weights };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Reader

/**
 * Every group of the file by its path with `\` read as `/` (Windows-written files), e.g. `/layers/conv2d`.
 * A group reached again by another link (HDF5 hard links make a DAG) is indexed once, under its first
 * path, so shared groups cannot multiply the walk; a link back up is `CYCLE` (see `H5GroupView`).
 */
function indexGroups(root: H5GroupView): Map<string, H5GroupView> {
  const out = new Map<string, H5GroupView>();
  const seen = new Set<string>([root.id]);
  const walk = (g: H5GroupView, path: string): void => {
    for (const key of g.keys()) {
      const child = g.get(key);
      if (child?.kind !== 'group' || seen.has(child.id)) continue;
      seen.add(child.id);
      const p = `${path}/${key.replace(/\\/g, '/')}`;
      out.set(p, child);
      walk(child, p);
    }
  };
  walk(root, '');
  return out;
}

function childrenOf(index: Map<string, H5GroupView>, parent: string): string[] {
  const prefix = `${parent}/`;
  return [...index.keys()].filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
}

/** Which group holds each layer of `model` (see the module comment for the two ways). */
function locateLayers(
  index: Map<string, H5GroupView>,
  modelPath: string,
  model: KerasModelNode,
): Map<KerasLayerNode, string> {
  const container = [`${modelPath}/layers`, `${modelPath}/_layer_checkpoint_dependencies`].find(
    (p) => index.has(p) || childrenOf(index, p).length > 0,
  );
  const found = new Map<KerasLayerNode, string>();
  if (container === undefined) return found;
  const groups = childrenOf(index, container);
  const order = kerasLayerOrder(model);

  const named = new Map<string, string[]>();
  for (const g of groups) {
    const name = index.get(`${g}/vars`)?.attr('name');
    if (typeof name === 'string') named.set(name, [...(named.get(name) ?? []), g]);
  }
  const used = new Set<string>();
  const byClass = new Map<string, KerasLayerNode[]>();
  for (const layer of order) {
    const hit = named.get(layer.local);
    if (hit?.length === 1) {
      found.set(layer, hit[0]!);
      used.add(hit[0]!);
    }
    const key = toSnakeCase(kerasClass(layer.className));
    byClass.set(key, [...(byClass.get(key) ?? []), layer]);
  }
  for (const [key, layers] of byClass) {
    const pattern = new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:_(\\d+))?$`);
    const free = groups
      .map((g) => ({ g, m: pattern.exec(g.slice(container.length + 1)) }))
      .filter((c): c is { g: string; m: RegExpExecArray } => c.m !== null && !used.has(c.g))
      .sort((x, y) => Number(x.m[1] ?? 0) - Number(y.m[1] ?? 0))
      .map((c) => c.g);
    const left = layers.filter((l) => !found.has(l));
    if (left.length === free.length) {
      // Counters in model.layers order (Keras's own way); also right when they skip numbers (Keras 2.13).
      left.forEach((layer, i) => found.set(layer, free[i]!));
      continue;
    }
    // Counts that do not line up: the exact `<key>_<i>` Keras itself would look up, if still unclaimed.
    layers.forEach((layer, i) => {
      const exact = `${container}/${i === 0 ? key : `${key}_${i}`}`;
      if (!found.has(layer) && index.has(exact) && !used.has(exact)) {
        found.set(layer, exact);
        used.add(exact);
      }
    });
  }
  return found;
}

function varsOf(index: Map<string, H5GroupView>, group: string): H5DatasetView[] {
  const vars = index.get(`${group}/vars`);
  if (!vars) return [];
  return vars
    .keys()
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => vars.get(k))
    .filter((d): d is H5DatasetView => d?.kind === 'dataset');
}

function readKeras3Weights(root: H5GroupView, tree: KerasModelNode, file: string): WeightTensor[] {
  const index = indexGroups(root);
  const prefixes = weightPrefixes(tree);
  const byLayer = new Map<KerasLayerNode, WeightTensor[]>();
  const visit = (model: KerasModelNode, path: string): void => {
    const where = locateLayers(index, path, model);
    for (const layer of kerasLayerOrder(model)) {
      const group = where.get(layer);
      if (layer.model) {
        if (group !== undefined) visit(layer.model, group);
        else if (
          allLayerNodes(layer.model).some(
            (l) => (kerasWeightRoles(l.className, l.entry.config)?.length ?? 0) > 0,
          )
        ) {
          throw missing(layer, path);
        }
        continue;
      }
      const vars = group === undefined ? [] : varsOf(index, group);
      const roles = kerasWeightRoles(layer.className, layer.entry.config);
      if (vars.length === 0) {
        if ((roles?.length ?? 0) > 0) throw missing(layer, path);
        continue;
      }
      if (roles && roles.length !== vars.length) {
        throw new ModelLoadError(
          'WEIGHT_MISMATCH',
          `Layer '${layer.scoped}' (${layer.className}) has ${vars.length} variables in '${file}' (${group!.slice(1)}/vars), ` +
            `but its config implies ${roles.length}: ${roles.join(', ')}.`,
          { file, layer: layer.scoped },
        );
      }
      const prefix = prefixes.get(layer.scoped)!;
      byLayer.set(
        layer,
        vars.map((d, i) => {
          const arr = d.read();
          const role = roles ? roles[i]! : `var_${i}`;
          checkWeightDtype(`${prefix}/${role}`, arr.stored, 'stored', { file, layer: layer.scoped });
          return { name: `${prefix}/${role}`, shape: arr.shape, dtype: arr.dtype, values: arr.values };
        }),
      );
    }
  };
  const missing = (layer: KerasLayerNode, path: string) =>
    new ModelLoadError(
      'MISSING_WEIGHTS',
      `Layer '${layer.scoped}' (${layer.className}) of config.json has no weights in '${file}' ` +
        `(nothing under ${path === '' ? '' : `${path.slice(1)}/`}layers/ for it). Is the weights file from another model?`,
      { file, layer: layer.scoped },
    );
  visit(tree, '');
  return allLayerNodes(tree).flatMap((l) => byLayer.get(l) ?? []);
}

/**
 * Reads an expanded .keras archive as artifacts (Keras 2 / TF.js topology form, weights named
 * `<layer>/<role>`), checked by building its IR (returned with them); the metadata's `prunelab`
 * record becomes `userDefinedMetadata.prunelab`. Throws `ModelLoadError` naming the member at fault.
 */
export async function readKerasV3(files: InputFile[]): Promise<OpenedArtifacts> {
  const found = findArchive(files);
  if (!found) {
    throw new ModelLoadError(
      'UNRECOGNIZED_FORMAT',
      'No config.json with a model.weights.h5 beside it: not a .keras archive.',
    );
  }
  const modelTopology = normalizeKerasConfig(parseJsonFile(found.config), found.config.path);
  const meta = found.metadata ? parseJsonFile(found.metadata) : undefined;
  const version =
    isRecord(meta) && typeof meta['keras_version'] === 'string' ? meta['keras_version'] : undefined;
  if (version !== undefined) modelTopology.keras_version = version;
  const tree = kerasModelTree(modelTopology);
  const weights = await readHdf5(found.weights.bytes, found.weights.path, (root) =>
    readKeras3Weights(root, tree, found.weights.path),
  );
  const out: ModelArtifactsData = {
    modelTopology,
    weights,
    format: 'layers-model',
    generatedBy: version !== undefined ? `keras v${version}` : 'keras',
  };
  if (isRecord(meta) && meta[PROVENANCE_KEY] !== undefined) {
    out.userDefinedMetadata = { [PROVENANCE_KEY]: meta[PROVENANCE_KEY] };
  }
  return { artifacts: out, ir: buildModelIR(out) };
}

/**
 * The Keras 3 `.keras` format plug-in: matches an expanded archive (config.json + an HDF5 weights file
 * in one folder). Register it before the TF.js plug-in, which claims any JSON.
 */
export const kerasV3Format: ModelFormat<OpenedArtifacts> = {
  id: 'keras-v3',
  description: 'a Keras .keras file',
  match: (files) => findArchive(files) !== undefined,
  open: (files) => readKerasV3(files),
};

// ---------------------------------------------------------------------------------------------------
// Writer

/**
 * The Keras release whose .keras layout the writer follows (the one that wrote our Keras 3 fixture).
 * Not written into files as `keras_version`: no Keras release wrote them (see `writeKerasV3`).
 */
export const KERAS3_VERSION = '3.11.3';

/** The Keras format version a `.keras` export targets, recorded as `prunelab.writer.formatVersion`. */
export const KERAS3_FORMAT_VERSION = '3';

/** Python's class for a config class name: Keras 3 builds a `Functional` for Keras 2's `Model`. */
function kerasClass(className: string): string {
  return className === 'Model' ? 'Functional' : className;
}

function dtypePolicy(name: unknown): Record<string, unknown> {
  return {
    module: 'keras',
    class_name: 'DTypePolicy',
    config: { name: typeof name === 'string' ? name : 'float32' },
    registered_name: null,
  };
}

/** A portable `{class_name, config}` object (initializer, regularizer, constraint) in Keras 3 form. */
function keras3Object(key: string, v: unknown): unknown {
  const module = objectModule(key);
  if (module === undefined || !isRecord(v) || typeof v['class_name'] !== 'string') return v;
  return { module, class_name: v['class_name'], config: v['config'] ?? {}, registered_name: null };
}

interface Shapes {
  /** Output shape of the entry with this scoped name (a nested model: its output's). */
  output(scoped: string): Shape;
  input(scoped: string): Shape | undefined;
}

function shapesOf(ir: ModelIR, tree: KerasModelNode): Shapes {
  const layers = new Map(ir.layers.map((l) => [l.name, l] as const));
  const nodes = new Map(allLayerNodes(tree).map((n) => [n.scoped, n] as const));
  const output = (scoped: string): Shape => {
    const l = layers.get(scoped);
    if (l) return l.outputShape;
    const n = nodes.get(scoped);
    if (n?.model) {
      const m = n.model;
      const last = m.className === 'Sequential' ? m.layers[m.layers.length - 1]?.local : m.outputs[0]?.[0];
      if (last !== undefined) return output(`${scoped}/${last}`);
    }
    const batch = n?.entry.config['batch_input_shape'];
    return Array.isArray(batch) ? (batch as Shape) : [null];
  };
  const input = (scoped: string): Shape | undefined => {
    const l = layers.get(scoped);
    if (l) return l.inputShape;
    const n = nodes.get(scoped);
    const first = n?.model?.layers[0];
    if (first) {
      const b = first.entry.config['batch_input_shape'] ?? first.entry.config['batch_shape'];
      return Array.isArray(b) ? (b as Shape) : input(first.scoped);
    }
    return undefined;
  };
  return { output, input };
}

function kerasTensor(
  ref: unknown[],
  shapes: Shapes,
  scope: string | undefined,
  sequentials: Set<string>,
): Record<string, unknown> {
  const name = String(ref[0]);
  const node = Number(ref[1] ?? 0);
  return {
    class_name: '__keras_tensor__',
    config: {
      shape: shapes.output(scope === undefined ? name : `${scope}/${name}`),
      dtype: 'float32',
      keras_history: [name, sequentials.has(name) ? Math.max(0, node - 1) : node, Number(ref[2] ?? 0)],
    },
  };
}

interface Keras3Context {
  shapes: Shapes;
  /** Layers (scoped) whose weights need a build_config. */
  weighted: Set<string>;
}

function keras3LayerConfig(layer: KerasLayerNode): Record<string, unknown> {
  const portable = portableLayerConfig(layer.className, layer.entry.config);
  delete portable['batch_input_shape'];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(portable)) {
    out[k] = k === 'dtype' ? dtypePolicy(v) : keras3Object(k, v);
  }
  if (layer.className === 'LeakyReLU' && 'alpha' in out) {
    out['negative_slope'] = out['alpha'];
    delete out['alpha'];
  }
  return out;
}

function inputLayerEntry(name: string, batchShape: Shape, dtype: unknown): Record<string, unknown> {
  return {
    module: 'keras.layers',
    class_name: 'InputLayer',
    config: {
      batch_shape: batchShape,
      dtype: typeof dtype === 'string' ? dtype : 'float32',
      sparse: false,
      name,
    },
    registered_name: null,
  };
}

function keras3Entry(
  layer: KerasLayerNode,
  parent: KerasModelNode,
  ctx: Keras3Context,
): Record<string, unknown> {
  let out: Record<string, unknown>;
  if (layer.model) out = keras3Model(layer.model, ctx, false);
  else if (layer.className === 'InputLayer') {
    const c = layer.entry.config;
    out = inputLayerEntry(
      layer.local,
      (c['batch_input_shape'] ?? c['batch_shape'] ?? [null]) as Shape,
      c['dtype'],
    );
  } else {
    out = {
      module: 'keras.layers',
      class_name: layer.className,
      config: keras3LayerConfig(layer),
      registered_name: null,
    };
    if (ctx.weighted.has(layer.scoped)) {
      const input = ctx.shapes.input(layer.scoped);
      if (input && input.slice(1).every((d) => d !== null)) out['build_config'] = { input_shape: input };
    }
  }
  if (parent.className !== 'Sequential') {
    const sequentials = new Set(
      parent.layers.filter((l) => l.className === 'Sequential').map((l) => l.local),
    );
    const nodes = (layer.entry.inbound_nodes ?? []).map((node) => {
      const refs = Array.isArray(node) ? (node.filter((r) => Array.isArray(r)) as unknown[][]) : [];
      const tensors = refs.map((r) => kerasTensor(r, ctx.shapes, parent.scoped, sequentials));
      const kw = refs[0]?.[3];
      return { args: tensors.length === 1 ? tensors : [tensors], kwargs: isRecord(kw) ? kw : {} };
    });
    out['name'] = layer.local;
    out['inbound_nodes'] = nodes;
  }
  return out;
}

/** A unique name for an InputLayer added in front of a Sequential (Keras 2's `<first layer>_input`). */
function inputName(model: KerasModelNode): string {
  const taken = new Set(model.layers.map((l) => l.local));
  const base = `${model.layers[0]?.local ?? model.name}_input`;
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

function keras3Model(model: KerasModelNode, ctx: Keras3Context, top: boolean): Record<string, unknown> {
  const trainable = model.config['trainable'] !== false;
  if (model.className === 'Sequential') {
    const layers = model.layers.map((l) => keras3Entry(l, model, ctx));
    const first = model.layers[0];
    let batchShape: Shape | undefined;
    if (first?.className === 'InputLayer') {
      batchShape = (first.entry.config['batch_input_shape'] ?? first.entry.config['batch_shape']) as Shape;
    } else if (first) {
      batchShape =
        (first.entry.config['batch_input_shape'] as Shape | undefined) ?? ctx.shapes.input(first.scoped);
      // Keras 3 builds a Sequential from a leading InputLayer: Keras 2's `batch_input_shape` on the first
      // layer moves into one, named as Keras 2 named the implicit input. A nested model in first place
      // has its own input; `build_input_shape` builds the Sequential around it (Sequential.from_config).
      if (batchShape && !first.model) {
        layers.unshift(inputLayerEntry(inputName(model), batchShape, first.entry.config['dtype']));
      }
    }
    const config: Record<string, unknown> = {
      name: model.name,
      trainable,
      dtype: dtypePolicy('float32'),
      layers,
    };
    if (batchShape) config['build_input_shape'] = batchShape;
    const out: Record<string, unknown> = {
      module: 'keras',
      class_name: 'Sequential',
      config,
      registered_name: null,
    };
    if (top && batchShape) out['build_config'] = { input_shape: batchShape };
    return out;
  }
  const order = kerasLayerOrder(model);
  const sequentials = new Set(model.layers.filter((l) => l.className === 'Sequential').map((l) => l.local));
  const endpoint = (refs: [string, number, number][]) => {
    const list = refs.map(([n, node, t]) => [n, sequentials.has(n) ? Math.max(0, node - 1) : node, t]);
    return list.length === 1 ? list[0] : list;
  };
  const out: Record<string, unknown> = {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: model.name,
      trainable,
      layers: order.map((l) => keras3Entry(l, model, ctx)),
      input_layers: endpoint(model.inputs),
      output_layers: endpoint(model.outputs),
    },
    registered_name: 'Functional',
  };
  if (top) out['build_config'] = { input_shape: null };
  return out;
}

function keras3WeightsTree(
  tree: KerasModelNode,
  weightsOf: (scoped: string) => Map<string, WeightTensor>,
): H5WriteGroup {
  const root: H5WriteGroup = { kind: 'group', children: [] };
  const varsGroup = (name: string): H5WriteGroup => ({
    kind: 'group',
    attrs: [['name', { kind: 'string', value: name }]],
    children: [],
  });
  const place = (path: string, group: H5WriteGroup) => {
    const parts = path.split('/');
    const leaf = parts.pop()!;
    let g = root;
    for (const part of parts) {
      let next = g.children!.find(([n]) => n === part)?.[1];
      if (!next) {
        next = { kind: 'group', children: [] };
        g.children!.push([part, next]);
      }
      g = next as H5WriteGroup;
    }
    g.children!.push([leaf, group]);
  };
  const walk = (model: KerasModelNode, path: string): void => {
    place(`${path}vars`, varsGroup(model.name));
    const counters = new Map<string, number>();
    for (const layer of kerasLayerOrder(model)) {
      const key = toSnakeCase(kerasClass(layer.className));
      const n = counters.get(key) ?? 0;
      counters.set(key, n + 1);
      const at = `${path}layers/${n === 0 ? key : `${key}_${n}`}/`;
      if (layer.model) {
        walk(layer.model, at);
        continue;
      }
      const vars = varsGroup(layer.local);
      const weights = weightsOf(layer.scoped);
      const roles = kerasWeightRoles(layer.className, layer.entry.config) ?? [...weights.keys()];
      roles.forEach((role, i) => {
        const w = weights.get(role);
        if (!w) throw new Error(`writeKerasV3: no weight '${role}' for layer '${layer.scoped}'.`);
        putDataset(vars, String(i), { kind: 'dataset', shape: [...w.shape], values: w.values });
      });
      place(`${at}vars`, vars);
    }
  };
  walk(tree, '');
  return root;
}

export interface WriteKerasV3Options {
  /** `date_saved` in metadata.json (default: now). */
  date?: Date;
}

function formatDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The Keras 3 config.json object for artifacts (exported for tests and for showing it): Keras 3 form,
 * layer configs cut to arguments Keras 3 accepts, a Sequential given a leading InputLayer, build_config
 * from the IR's (pruned) shapes.
 */
export function keras3Config(a: ModelArtifactsData, ir: ModelIR = buildModelIR(a)): Record<string, unknown> {
  const tree = kerasModelTree(a.modelTopology);
  const weighted = new Set(ir.layers.filter((l) => l.weights.length > 0).map((l) => l.name));
  return keras3Model(tree, { shapes: shapesOf(ir, tree), weighted }, true);
}

/**
 * Writes artifacts as a Keras 3 `.keras` archive that `keras.models.load_model` opens (uncompiled:
 * call `model.compile(...)` before `fit`): config.json in Keras 3 form without the quirks Keras 3
 * refuses (DepthwiseConv2D `groups`, initializer `dtype`, `\` paths), model.weights.h5 in Keras's
 * layout, metadata.json with `date_saved`, `saved_by` (PruneLab and its version: no Keras release wrote
 * the file, so no `keras_version` is claimed), `keras_format` and the PruneLab provenance record under
 * `prunelab` (with `writer` naming PruneLab, its version and the Keras format version targeted).
 */
export async function writeKerasV3(
  model: ModelArtifactsData,
  opts: WriteKerasV3Options = {},
): Promise<Uint8Array> {
  const ir = buildModelIR(model);
  const tree = kerasModelTree(model.modelTopology);
  const config = keras3Config(model, ir);
  const h5 = await writeHdf5(keras3WeightsTree(tree, layerWeights(model, ir)));
  const a = stampWriter(model, { format: 'keras-v3', formatVersion: KERAS3_FORMAT_VERSION });
  // Keras writes its own release as `keras_version`; it never reads it back (saving_lib only writes
  // metadata.json). This file was written by PruneLab, so it says so instead of naming a Keras release.
  const metadata: Record<string, unknown> = {
    date_saved: formatDate(opts.date ?? new Date()),
    saved_by: `PruneLab ${PRUNELAB_VERSION}`,
    keras_format: KERAS3_FORMAT_VERSION,
  };
  const prov = a.userDefinedMetadata?.[PROVENANCE_KEY];
  if (prov !== undefined) metadata[PROVENANCE_KEY] = prov;
  const enc = new TextEncoder();
  return zipFilesAsync(
    [
      { path: 'metadata.json', bytes: enc.encode(JSON.stringify(metadata)) },
      { path: 'config.json', bytes: enc.encode(JSON.stringify(config)) },
      { path: 'model.weights.h5', bytes: h5 },
    ],
    { level: 0 },
  );
}
