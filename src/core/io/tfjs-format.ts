import type { InputFile, ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import type { KerasModelTopology, ManifestGroup, ManifestWeightEntry } from '../ir/keras-json';
import { decodeWeight, describeStorage, elementCount, quote } from './dequantize';
import { ModelLoadError } from './errors';
import { baseName, describeFiles, dirName, normalizePath, type ModelFormat } from './format';
import { checkTensorDeclaration, checkWeightDtype, WeightBudget } from './weight-checks';
import { confinedPath } from './zip';
import { filesBytes, withSourceStorage, type SourceStorage, type StoredWeight } from './source-storage';

/**
 * TF.js LayersModel: `model.json` = `{modelTopology, weightsManifest, format?, generatedBy?, convertedBy?,
 * userDefinedMetadata?}` plus the shard files its manifest lists. Each manifest group's shards are
 * concatenated in order and its weights take their bytes from that buffer in manifest order, e.g.
 * `{paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [conv/kernel, conv/bias]}`: a weight
 * may straddle the two files.
 *
 * Unlike `tf.io.browserFiles` (JSON first, exact basenames) we accept files in any order, in folders or
 * several models at once: the JSON is found by content and shards are matched to `paths` by path
 * relative to the JSON, then by basename.
 */

const UTF8 = new TextDecoder('utf-8');

/** First byte after an optional UTF-8 BOM and whitespace, and the index after it. */
function skipBlank(bytes: Uint8Array, from: number): number {
  let i = from;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)
  )
    i++;
  return i;
}

/** Cheap sniff: `{` then `"` or `}` after optional BOM/whitespace, as every JSON object starts. */
function startsLikeJsonObject(bytes: Uint8Array): boolean {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const i = skipBlank(bytes, bom);
  if (bytes[i] !== 0x7b) return false;
  const j = skipBlank(bytes, i + 1);
  return bytes[j] === 0x22 || bytes[j] === 0x7d;
}

/** A file the user presumably meant as JSON: named `.json`, or its content starts like a JSON object. */
function meantAsJson(file: InputFile): boolean {
  return /\.json$/i.test(file.path) || startsLikeJsonObject(file.bytes);
}

type Parsed = { file: InputFile; json: unknown } | { file: InputFile; error: string };

function parseJson(file: InputFile): Parsed {
  try {
    return { file, json: JSON.parse(UTF8.decode(file.bytes).replace(/^\uFEFF/, '')) as unknown };
  } catch (e) {
    return { file, error: e instanceof Error ? e.message : String(e) };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A TF.js graph model (tfjs_graph_model / SavedModel conversion): a GraphDef with `node`s. */
function isGraphModel(json: Record<string, unknown>): boolean {
  return json.format === 'graph-model' || (isObject(json.modelTopology) && 'node' in json.modelTopology);
}

function keysOf(json: unknown): string {
  if (!isObject(json))
    return Array.isArray(json) ? 'none (it is a JSON array)' : `none (it is ${quote(json)})`;
  const keys = Object.keys(json);
  return keys.length === 0 ? 'none (it is an empty object)' : keys.join(', ');
}

/** Preferred model JSON among several: one named model.json, then the shallowest, then the first given. */
function preference(file: InputFile): number {
  const p = normalizePath(file.path);
  return (baseName(p).toLowerCase() === 'model.json' ? 0 : 1000) + p.split('/').length;
}

/** Finds the LayersModel JSON among the files, or throws the most telling error. */
function findModelJson(files: InputFile[]): { file: InputFile; json: Record<string, unknown> } {
  const parsed = files.filter(meantAsJson).map(parseJson);
  if (parsed.length === 0) {
    throw new ModelLoadError(
      'UNRECOGNIZED_FORMAT',
      `None of the ${describeFiles(files)} is a TF.js model.json (a JSON file with 'modelTopology' and 'weightsManifest').`,
    );
  }
  const objects = parsed.flatMap((p) =>
    'json' in p && isObject(p.json) ? [{ file: p.file, json: p.json }] : [],
  );
  const models = objects.filter((p) => 'modelTopology' in p.json && !isGraphModel(p.json));
  if (models.length > 0) {
    // Stable sort: ties keep the order the files were given in.
    return [...models].sort((a, b) => preference(a.file) - preference(b.file))[0]!;
  }
  const graph = objects.find((p) => isGraphModel(p.json));
  if (graph) {
    throw new ModelLoadError(
      'NOT_LAYERS_MODEL',
      `'${graph.file.path}' is a TF.js graph model (format ${quote(graph.json.format ?? 'graph-model')}), not a LayersModel: ` +
        `it has no Keras layers to prune. Convert the Keras model with tensorflowjs_converter --output_format tfjs_layers_model. ` +
        `Its keys: ${keysOf(graph.json)}.`,
      { file: graph.file.path },
    );
  }
  const broken = [...parsed]
    .sort((a, b) => Number(!/\.json$/i.test(a.file.path)) - Number(!/\.json$/i.test(b.file.path)))
    .find((p): p is Extract<Parsed, { error: string }> => 'error' in p);
  if (broken) {
    throw new ModelLoadError('NOT_JSON', `'${broken.file.path}' is not valid JSON: ${broken.error}`, {
      file: broken.file.path,
    });
  }
  const first = parsed[0]!;
  const json = 'json' in first ? first.json : undefined;
  throw new ModelLoadError(
    'NOT_LAYERS_MODEL',
    `'${first.file.path}' is JSON but not a TF.js LayersModel model.json: it has no 'modelTopology'. Its keys: ${keysOf(json)}.`,
    { file: first.file.path },
  );
}

/** Converted Keras models wrap the topology: `{keras_version, backend, model_config: {class_name, config}}`. */
function normalizeTopology(raw: unknown, file: string): KerasModelTopology {
  if (!isObject(raw)) {
    throw new ModelLoadError(
      'BAD_TOPOLOGY',
      `'${file}' has a 'modelTopology' of ${quote(raw)}, not an object.`,
      {
        file,
      },
    );
  }
  let topology: Record<string, unknown> = raw;
  if (isObject(raw.model_config)) {
    topology = { ...raw.model_config };
    if (typeof raw.keras_version === 'string' && topology.keras_version === undefined)
      topology.keras_version = raw.keras_version;
    if (typeof raw.backend === 'string' && topology.backend === undefined) topology.backend = raw.backend;
  }
  if (
    typeof topology.class_name !== 'string' ||
    !(isObject(topology.config) || Array.isArray(topology.config))
  ) {
    throw new ModelLoadError(
      'BAD_TOPOLOGY',
      `'${file}' modelTopology has no Keras model config ('class_name' is ${quote(topology.class_name)}, ` +
        `'config' is ${topology.config === undefined ? 'missing' : typeof topology.config}). Its keys: ${keysOf(topology)}.`,
      { file },
    );
  }
  return topology as KerasModelTopology;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Names of every layer in a topology, nested models' layers included (any `{class_name, config: {name}}`). */
function layerNamesOf(topology: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown, depth: number): void => {
    if (depth > 64) return;
    if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else if (isObject(v)) {
      if (typeof v.class_name === 'string' && isObject(v.config) && typeof v.config.name === 'string') {
        out.add(v.config.name);
      }
      if (typeof v.name === 'string' && typeof v.class_name === 'string') out.add(v.name);
      if (isObject(v.config)) visit(v.config.layers, depth + 1);
    }
  };
  visit(topology, 0);
  return out;
}

/** Checks the manifest's shape (not its bytes) and returns it typed. */
function readManifest(raw: unknown, file: string): ManifestGroup[] {
  if (raw === undefined) return [];
  const bad = (what: string): never => {
    throw new ModelLoadError('BAD_TOPOLOGY', `'${file}' has a malformed weightsManifest: ${what}.`, { file });
  };
  if (!Array.isArray(raw)) return bad(`expected a list of groups, got ${quote(raw)}`);
  return raw.map((group: unknown, g): ManifestGroup => {
    if (!isObject(group)) return bad(`group ${g + 1} is ${quote(group)}`);
    const { paths, weights } = group;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) {
      return bad(`group ${g + 1} 'paths' is ${quote(paths)}, not a list of file names`);
    }
    if (!Array.isArray(weights)) return bad(`group ${g + 1} 'weights' is ${quote(weights)}, not a list`);
    for (const w of weights as unknown[]) {
      if (!isObject(w) || typeof w.name !== 'string')
        return bad(`group ${g + 1} has a weight entry ${quote(w)}`);
      if (!Array.isArray(w.shape) || !w.shape.every(isNonNegativeInt)) {
        return bad(`weight '${w.name}' has shape ${quote(w.shape)}`);
      }
      // Some converters write only quantization.original_dtype.
      if (
        w.dtype === undefined &&
        isObject(w.quantization) &&
        typeof w.quantization.original_dtype === 'string'
      ) {
        w.dtype = w.quantization.original_dtype;
      }
    }
    return { paths, weights: weights as ManifestWeightEntry[] };
  });
}

/**
 * Throws PATH_ESCAPE when a manifest path leaves the folder of the JSON that lists it: an absolute path
 * (`/etc/passwd`), a drive letter (`C:\\x.bin`), or a `..` (also spelt with `\\` or URL-encoded)
 * that climbs above it, e.g. `../../../../etc/passwd`. The CLI checks every path with this before it
 * reads a file; the loader checks again.
 */
export function confineManifestPath(path: string, jsonFile: string): void {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Not URL-encoded: the path as written is all there is to check.
  }
  for (const p of [path, decoded]) {
    const confined = confinedPath(p);
    if ('escape' in confined) {
      const shown = path.length > 120 ? `${path.slice(0, 117)}...` : path;
      throw new ModelLoadError(
        'PATH_ESCAPE',
        `'${jsonFile}' lists the weight file '${shown}', whose path leaves the model's folder (${confined.escape}). ` +
          `Only files beside ${baseName(jsonFile)} or below it are read.`,
        { file: jsonFile },
      );
    }
  }
}

/**
 * Finds the input file for a manifest path: the path relative to the JSON's folder, the path as written,
 * then the basename (URL-decoded too); among same-named files the one nearest the JSON wins.
 */
function resolveShard(path: string, jsonPath: string, files: InputFile[]): InputFile | undefined {
  const jsonDir = dirName(jsonPath);
  const byPath = new Map(files.map((f) => [normalizePath(f.path), f] as const));
  const exact =
    byPath.get(normalizePath(jsonDir ? `${jsonDir}/${path}` : path)) ?? byPath.get(normalizePath(path));
  if (exact) return exact;
  const names = new Set([baseName(path)]);
  try {
    names.add(baseName(decodeURIComponent(path)));
  } catch {
    // Not URL-encoded; the plain name is enough.
  }
  const same = files.filter(
    (f) => normalizePath(f.path) !== normalizePath(jsonPath) && names.has(baseName(f.path)),
  );
  const nearness = (f: InputFile) => {
    const d = dirName(f.path);
    const inside = jsonDir === '' || d === jsonDir || d.startsWith(`${jsonDir}/`);
    return (inside ? 0 : 1000) + normalizePath(f.path).split('/').length;
  };
  return [...same].sort((a, b) => nearness(a) - nearness(b))[0];
}

function concatShards(shards: InputFile[]): Uint8Array {
  if (shards.length === 1) return shards[0]!.bytes;
  const out = new Uint8Array(shards.reduce((n, s) => n + s.bytes.byteLength, 0));
  let offset = 0;
  for (const s of shards) {
    out.set(s.bytes, offset);
    offset += s.bytes.byteLength;
  }
  return out;
}

function describeWeight(w: ManifestWeightEntry): string {
  const stored = w.quantization ? ` quantized to ${w.quantization.dtype}` : '';
  return `'${w.name}' (shape ${JSON.stringify(w.shape)}, ${w.dtype}${stored})`;
}

function describeShards(shards: InputFile[]): { names: string; verb: string } {
  const names = shards.map((s) => `'${s.path}'`);
  return shards.length === 1
    ? { names: names[0]!, verb: 'holds' }
    : { names: `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`, verb: 'hold' };
}

/** Decodes one group's weights from its shards, or throws SHARD_SIZE_MISMATCH naming files and weight. */
function decodeGroup(group: ManifestGroup, shards: InputFile[], jsonFile: string): WeightTensor[] {
  const sizes = group.weights.map(
    (w) => elementCount(w.shape) * describeStorage(w, { file: jsonFile }).bytesPerElement,
  );
  const need = sizes.reduce((n, s) => n + s, 0);
  const data = concatShards(shards);
  const total = data.byteLength;
  const { names, verb } = describeShards(shards);
  const together = shards.length > 1 ? ' together' : '';
  const file = shards[0]?.path ?? jsonFile;
  if (total < need) {
    let start = 0;
    let i = 0;
    while (start + sizes[i]! <= total) start += sizes[i++]!;
    const w = group.weights[i]!;
    throw new ModelLoadError(
      'SHARD_SIZE_MISMATCH',
      `Weight ${describeWeight(w)} needs bytes ${start}..${start + sizes[i]!} but ${names} ${verb} only ${total} bytes${together}. ` +
        `The manifest's ${group.weights.length} weights in this group need ${need} bytes: is a file truncated, or from another model?`,
      { file },
    );
  }
  if (total > need) {
    const last = group.weights[group.weights.length - 1];
    const lastPart = last ? `; the last, ${describeWeight(last)}, ends at byte ${need}` : '';
    throw new ModelLoadError(
      'SHARD_SIZE_MISMATCH',
      `${names} ${verb} ${total} bytes${together} but the manifest's ${group.weights.length} weights need only ${need} bytes${lastPart}. ` +
        `Is a file from another model?`,
      { file },
    );
  }
  let offset = 0;
  return group.weights.map((w, i) => {
    const bytes = data.subarray(offset, offset + sizes[i]!);
    offset += sizes[i]!;
    return decodeWeight(w, bytes);
  });
}

/** Reads a TF.js LayersModel from the given files (any order, any folders); see the module comment. */
function readTfjsModel(files: InputFile[]): ModelArtifactsData {
  const { file, json } = findModelJson(files);
  const modelTopology = normalizeTopology(json.modelTopology, file.path);
  const manifest = readManifest(json.weightsManifest, file.path);

  // Unknown dtypes and impossible declarations first: no point asking for files we could not decode
  // anyway, and nothing is allocated for a weight before its declared size has passed the limits.
  const where = { file: file.path };
  const budget = new WeightBudget();
  const layers = layerNamesOf(modelTopology);
  for (const group of manifest) {
    for (const p of group.paths) confineManifestPath(p, file.path);
    for (const w of group.weights) {
      describeStorage(w, where);
      // By class, not by name alone: only a weight of a layer the topology has (`dense/kernel` of
      // layer `dense`) is held to its role's dtype.
      const owner = w.name.split('/').slice(-2, -1)[0];
      if (owner !== undefined && layers.has(owner)) checkWeightDtype(w.name, w.dtype, 'declared', where);
      const bytes = checkTensorDeclaration(`weight '${w.name}'`, w.shape, w.dtype, 4, where);
      budget.add(`weight '${w.name}'`, bytes, where);
    }
  }

  const missing: string[] = [];
  const resolved = manifest.map((group) =>
    group.paths.flatMap((p) => {
      const f = resolveShard(p, file.path, files);
      if (!f) missing.push(p);
      return f ? [f] : [];
    }),
  );
  if (missing.length > 0) {
    const list = missing.map((m) => `'${m}'`).join(', ');
    throw new ModelLoadError(
      'MISSING_SHARD',
      missing.length === 1
        ? `Weight file ${list} listed in ${baseName(file.path)} was not provided.`
        : `Weight files ${list} listed in ${baseName(file.path)} were not provided.`,
      { file: missing[0]! },
    );
  }

  const weights = manifest.flatMap((group, g) => decodeGroup(group, resolved[g]!, file.path));
  let out: ModelArtifactsData = { modelTopology, weights };
  if (typeof json.format === 'string') out.format = json.format;
  if (typeof json.generatedBy === 'string') out.generatedBy = json.generatedBy;
  if (typeof json.convertedBy === 'string' || json.convertedBy === null) out.convertedBy = json.convertedBy;
  if (isObject(json.userDefinedMetadata)) out.userDefinedMetadata = json.userDefinedMetadata;
  out = withSourceStorage(out, sourceStorage(file, manifest, resolved));
  return out;
}

/**
 * The storage record of a TF.js model among the files (its model.json's manifest and the files it
 * lists), without decoding any weight; undefined when the files hold no TF.js LayersModel. The page
 * uses it after opening in a worker, whose structured clone leaves the non-enumerable record behind.
 */
export function readSourceStorage(files: InputFile[]): SourceStorage | undefined {
  try {
    const { file, json } = findModelJson(files);
    const manifest = readManifest(json.weightsManifest, file.path);
    const shards = manifest.map((g) =>
      g.paths.flatMap((p) => {
        const f = resolveShard(p, file.path, files);
        return f ? [f] : [];
      }),
    );
    return sourceStorage(file, manifest, shards);
  } catch {
    return undefined;
  }
}

/**
 * How the weights were stored (dtype, uint8/uint16 scale and min) and the bytes of the model.json and
 * the shards it lists, each file counted once: what an export keeps and is compared with.
 */
function sourceStorage(json: InputFile, manifest: ManifestGroup[], shards: InputFile[][]): SourceStorage {
  const weights: Record<string, StoredWeight> = {};
  for (const group of manifest) {
    for (const w of group.weights) {
      const { stored } = describeStorage(w);
      const entry: StoredWeight = { dtype: stored };
      if ((stored === 'uint8' || stored === 'uint16') && w.quantization) {
        entry.scale = w.quantization.scale!;
        entry.min = w.quantization.min!;
      }
      weights[w.name] = entry;
    }
  }
  const files = new Set([json, ...shards.flat()]);
  return { format: 'tfjs-layers', bytes: filesBytes([...files]), weights };
}

/**
 * The TF.js LayersModel format plug-in. `match` claims any file that looks like JSON, so that `open` can
 * say precisely what is wrong with it (not JSON, a graph model, no modelTopology); register more
 * specific formats whose files include JSON (Keras 3 `.keras`: config.json) before it.
 */
export const tfjsFormat: ModelFormat = {
  id: 'tfjs-layers',
  description: 'a TF.js model.json (with its .bin weight files)',
  match: (files) => files.some(meantAsJson),
  // Through a Promise executor, so that a ModelLoadError becomes a rejection, never a synchronous throw.
  open: (files) => new Promise((resolve) => resolve(readTfjsModel(files))),
};
