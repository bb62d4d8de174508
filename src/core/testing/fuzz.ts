/**
 * Seeded model fuzzing: mutations of a model's files (its JSON config: fields deleted, renamed,
 * retyped, names swapped, shapes and numbers changed, class names changed; and raw bytes), and one
 * case run through everything a model meets: load -> applyPlan -> build in tfjs -> predict on zeros.
 * Every failure must be a `ModelLoadError`; the runner (scripts/fuzz.ts, src/core/io/fuzz.test.ts)
 * runs cases in a child process it can kill, so a hang shows as a hang instead of freezing the run.
 *
 * Example: `mutateModel(seedModel, 42)` might give the sample's model.json with
 * `layers[3].config.name` set to `"bn1"` (a duplicate name), described as `dup-name layers[3]`.
 */
import * as tf from '@tensorflow/tfjs';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { InputFile } from '../ir/artifacts';
import { isModelLoadError } from '../io/errors';
import { loadLayersModelFromArtifacts, predictChecked } from '../io/tf-artifacts';
import { loadModel } from '../load';
import { applyPlan } from '../surgery/apply-plan';

/** A model to mutate: its files as the user would drop them, and how the JSON config is stored. */
export interface FuzzSeed {
  name: string;
  files: InputFile[];
  /** Where the JSON config lives: a model.json, a .keras archive's config.json, or text inside an .h5. */
  kind: 'tfjs' | 'keras' | 'h5';
}

/** A mulberry32 generator: small, fast, and the same sequence for the same seed everywhere. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Paths to every value in a JSON tree (arrays by index, objects by key). */
function jsonPaths(
  v: Json,
  path: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...path, i], out));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) jsonPaths(x, [...path, k], out);
  return out;
}

function getAt(root: Json, path: (string | number)[]): Json {
  let v: Json = root;
  for (const p of path) v = (v as Record<string | number, Json>)[p]!;
  return v;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = value;
}

/** The layer entries of a config (nested models included), for targeted mutations. */
function layerEntries(root: Json): { [k: string]: Json }[] {
  const out: { [k: string]: Json }[] = [];
  const walk = (v: Json): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      if (typeof v['class_name'] === 'string' && v['config'] !== null && typeof v['config'] === 'object')
        out.push(v);
      Object.values(v).forEach(walk);
    }
  };
  walk(root);
  return out;
}

const ODD_VALUES: Json[] = [
  null,
  0,
  -1,
  1,
  2.5,
  1e9,
  -1e9,
  '',
  'x',
  'FooLayer',
  true,
  false,
  [],
  {},
  [null],
  [0, 0],
  { a: 1 },
];
const CLASS_NAMES = [
  'Conv2D',
  'Dense',
  'FooLayer',
  'Add',
  'InputLayer',
  'Flatten',
  'Functional',
  'Sequential',
  'Lambda',
  'BatchNormalization',
  '',
];

/** One mutation of a JSON config, in place; returns what it did. */
function mutateJson(root: Json, rng: Rng): string {
  const layers = layerEntries(root);
  const kind = rng();
  if (kind < 0.45 || layers.length === 0) {
    const paths = jsonPaths(root).filter((p) => p.length > 0);
    const path = pick(rng, paths);
    const where = path.join('.');
    const old = getAt(root, path);
    const op = Math.floor(rng() * 6);
    if (op === 0) {
      setAt(root, path, undefined);
      return `delete ${where}`;
    }
    if (op === 1 && typeof path[path.length - 1] === 'string') {
      setAt(root, path, undefined);
      setAt(root, [...path.slice(0, -1), `${String(path[path.length - 1])}_x`], old);
      return `rename ${where}`;
    }
    if (op === 2 && typeof old === 'number') {
      const v = pick(rng, [0, -1, old + 1, old * 2, old - 1, 1e7, 0.5]);
      setAt(root, path, v);
      return `number ${where} = ${v}`;
    }
    if (op === 3 && Array.isArray(old) && old.length > 0) {
      if (rng() < 0.5) old.push(structuredClone(old[old.length - 1]!));
      else old.splice(Math.floor(rng() * old.length), 1);
      return `resize-array ${where}`;
    }
    const v = pick(rng, ODD_VALUES);
    setAt(root, path, structuredClone(v));
    return `retype ${where} = ${JSON.stringify(v)}`;
  }
  const l = pick(rng, layers);
  const config = l['config'] as { [k: string]: Json };
  const name = JSON.stringify(config['name']);
  const other = pick(rng, layers);
  const otherRaw = (other['config'] as { [k: string]: Json })['name'];
  const otherName = typeof otherRaw === 'string' ? otherRaw : 'ghost';
  switch (Math.floor(rng() * 10)) {
    case 0:
      l['name'] = `${name}_renamed`;
      return `top-name-mismatch ${name}`;
    case 1:
      config['name'] = otherName;
      return `dup-name ${name} -> ${otherName}`;
    case 2:
      l['class_name'] = pick(rng, CLASS_NAMES);
      return `class ${name} = ${String(l['class_name'])}`;
    case 3: {
      const keys = Object.keys(config).filter(
        (k) => typeof config[k] === 'number' || Array.isArray(config[k]),
      );
      if (keys.length === 0) return 'noop';
      const k = pick(rng, keys);
      const v = pick(rng, [0, 1, 3, -2, 100000, [1, 1], [0, 3], [null, 1e6, 1e6, 1]]);
      config[k] = v;
      return `field ${name}.${k} = ${JSON.stringify(v)}`;
    }
    case 4: {
      const nodes = l['inbound_nodes'];
      if (!Array.isArray(nodes) || nodes.length === 0) return 'noop';
      const ref = pick(rng, [
        [otherName, 0, 0, {}],
        ['ghost', 0, 0, {}],
        [name, 0, 0, {}],
        [otherName, 3, 0, {}],
        [otherName, 0, 2, {}],
      ]);
      nodes[0] = [ref];
      return `inbound ${name} <- ${JSON.stringify(ref)}`;
    }
    case 5: {
      const keys = Object.keys(config).filter((k) =>
        /_(initializer|regularizer|constraint)$|^activation$/.test(k),
      );
      if (keys.length === 0) return 'noop';
      const k = pick(rng, keys);
      const v = pick<Json>(rng, [
        'nope',
        7,
        { class_name: 'Nope', config: {} },
        { class_name: 'Zeros', config: 'x' },
        { config: {} },
        [],
        '',
      ]);
      config[k] = v;
      return `object ${name}.${k} = ${JSON.stringify(v)}`;
    }
    case 6:
      delete l['config'];
      return `no-config ${name}`;
    case 7: {
      const k = pick(rng, [
        'filters',
        'units',
        'kernel_size',
        'strides',
        'use_bias',
        'batch_input_shape',
        'pool_size',
      ]);
      config[k] = pick<Json>(rng, [0, -3, 'big', null, [0, 0], [null, 0, 28, 1], 2.5, 'false']);
      return `field ${name}.${k} = ${JSON.stringify(config[k])}`;
    }
    case 8: {
      const list = layers.filter((x) => x !== l);
      if (list.length === 0) return 'noop';
      const t = l['class_name'];
      l['class_name'] = other['class_name']!;
      other['class_name'] = t!;
      return `swap-class ${name} <-> ${otherName}`;
    }
    default:
      l['name'] = null;
      return `top-name-null ${name}`;
  }
}

/** One mutation of raw bytes, returning a new array: flips, truncation, appended garbage, zeroed run. */
function mutateBytes(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  const out = new Uint8Array(bytes);
  const op = Math.floor(rng() * 4);
  if (op === 0) {
    const n = 1 + Math.floor(rng() * 8);
    for (let i = 0; i < n; i++) out[Math.floor(rng() * out.length)] = Math.floor(rng() * 256);
    return { bytes: out, what: `flip ${n} bytes` };
  }
  if (op === 1) {
    const at = Math.floor(rng() * out.length);
    return { bytes: out.slice(0, at), what: `truncate at ${at}` };
  }
  if (op === 2) {
    const extra = new Uint8Array(1 + Math.floor(rng() * 64)).map(() => Math.floor(rng() * 256));
    const joined = new Uint8Array(out.length + extra.length);
    joined.set(out);
    joined.set(extra, out.length);
    return { bytes: joined, what: `append ${extra.length} bytes` };
  }
  const at = Math.floor(rng() * out.length);
  const len = Math.min(out.length - at, 1 + Math.floor(rng() * 256));
  out.fill(0, at, at + len);
  return { bytes: out, what: `zero ${len} bytes at ${at}` };
}

/**
 * Same-length edits of the JSON text stored inside a binary file (an .h5's `model_config` attribute),
 * so the container stays readable while the config changes: names, class names, digits.
 */
function mutateEmbeddedJson(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; what: string } {
  const text = strFromU8(bytes, true);
  const start = text.indexOf('{"class_name"');
  if (start < 0) return mutateBytes(bytes, rng);
  const out = new Uint8Array(bytes);
  const window = text.slice(start, start + 200_000);
  const edits: [RegExp, (m: string) => string, string][] = [
    [/"name": "([a-z_0-9]+)"/g, (m) => m.replace(/[a-z](?=[a-z_0-9]*"$)/, 'q'), 'rename'],
    [/"class_name": "([A-Za-z0-9]+)"/g, (m) => m.replace(/[A-Za-z](?="$)/, 'X'), 'class'],
    [/: (\d+)/g, (m) => m.replace(/\d/, pick(rng, ['0', '9', '1'])), 'digit'],
    [/"(filters|units)": \d+/g, (m) => m.replace(/\d+$/, (d) => '0'.repeat(d.length)), 'zero-count'],
    [/"inbound_nodes": \[\[\["([a-z_0-9]+)"/g, (m) => m.replace(/[a-z](?=[a-z_0-9]*"$)/, 'z'), 'inbound'],
  ];
  const [re, f, what] = pick(rng, edits);
  const matches = [...window.matchAll(re)];
  if (matches.length === 0) return mutateBytes(bytes, rng);
  const m = pick(rng, matches);
  const replaced = f(m[0]);
  if (replaced.length !== m[0].length) return mutateBytes(bytes, rng);
  // latin-1 decoding keeps one char per byte, so text offsets are byte offsets.
  out.set(strToU8(replaced, true), start + m.index);
  return { bytes: out, what: `h5-text ${what} ${JSON.stringify(m[0])} -> ${JSON.stringify(replaced)}` };
}

/** The `case`-th seeded mutation (1 to 3 edits) of a seed model: the files to load and what was done. */
export function mutateModel(seed: FuzzSeed, caseSeed: number): { files: InputFile[]; mutation: string } {
  const rng = makeRng(caseSeed);
  const edits = 1 + Math.floor(rng() * rng() * 3);
  let files = seed.files.map((f) => ({ path: f.path, bytes: f.bytes }));
  const done: string[] = [];
  for (let e = 0; e < edits; e++) {
    const bytesEdit = rng() < 0.15;
    if (seed.kind === 'tfjs') {
      const ji = files.findIndex((f) => f.path.endsWith('.json'));
      if (bytesEdit) {
        const i = Math.floor(rng() * files.length);
        const m = mutateBytes(files[i]!.bytes, rng);
        files[i] = { path: files[i]!.path, bytes: m.bytes };
        done.push(`${files[i].path}: ${m.what}`);
        continue;
      }
      let json: Json;
      try {
        json = JSON.parse(strFromU8(files[ji]!.bytes)) as Json;
      } catch {
        continue; // an earlier byte edit broke it: that is the case
      }
      done.push(mutateJson(json, rng));
      files[ji] = { path: files[ji]!.path, bytes: strToU8(JSON.stringify(json)) };
    } else if (seed.kind === 'keras') {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(files[0]!.bytes);
      } catch {
        continue;
      }
      if (bytesEdit || entries['config.json'] === undefined) {
        const name = pick(rng, Object.keys(entries));
        const m =
          name === 'model.weights.h5' && rng() < 0.5
            ? mutateBytes(entries[name]!, rng)
            : mutateBytes(files[0]!.bytes, rng);
        if (name === 'model.weights.h5' && m.bytes.length !== files[0]!.bytes.length) {
          entries[name] = m.bytes;
          files = [{ path: files[0]!.path, bytes: zipSync(entries, { level: 0 }) }];
        } else files = [{ path: files[0]!.path, bytes: m.bytes }];
        done.push(`keras bytes: ${m.what}`);
        continue;
      }
      let json: Json;
      try {
        json = JSON.parse(strFromU8(entries['config.json'])) as Json;
      } catch {
        continue;
      }
      done.push(mutateJson(json, rng));
      entries['config.json'] = strToU8(JSON.stringify(json));
      files = [{ path: files[0]!.path, bytes: zipSync(entries, { level: 0 }) }];
    } else {
      const m =
        bytesEdit && rng() < 0.3
          ? mutateBytes(files[0]!.bytes, rng)
          : mutateEmbeddedJson(files[0]!.bytes, rng);
      files = [{ path: files[0]!.path, bytes: m.bytes }];
      done.push(m.what);
    }
  }
  return { files, mutation: done.join('; ') || 'none' };
}

/** How one case ended. `stage` says how far it got: load, plan, build, predict, done. */
export interface FuzzOutcome {
  result: 'accepted' | 'typed' | 'untyped';
  stage: 'load' | 'plan' | 'build' | 'predict' | 'done';
  code?: string;
  message?: string;
  /** Tensors alive after the case minus before it (must be 0). */
  leaked: number;
  ms: number;
}

/** A tiny plan: the first channel of the first prunable group with more than one channel (empty when none). */
function smallPlan(graph: { groups: { producer: string; size: number; prunable: boolean }[] }) {
  const g = graph.groups.find((x) => x.prunable && x.size > 1);
  return { version: 1 as const, remove: g ? { [g.producer]: [0] } : {} };
}

/**
 * Runs one set of files through load -> applyPlan (a one-channel plan) -> tfjs build -> predict on a
 * zero input. A `ModelLoadError` anywhere is "typed"; anything else "untyped" (the bug the fuzz hunts).
 * Inputs over 1M values are not predicted (the model was accepted: its input is just large).
 */
export async function runFuzzCase(files: InputFile[]): Promise<FuzzOutcome> {
  const t0 = performance.now();
  const before = tf.memory().numTensors;
  let stage: FuzzOutcome['stage'] = 'load';
  const end = (o: Omit<FuzzOutcome, 'leaked' | 'ms' | 'stage'>): FuzzOutcome => ({
    ...o,
    stage,
    leaked: tf.memory().numTensors - before,
    ms: performance.now() - t0,
  });
  let model: tf.LayersModel | undefined;
  try {
    const opened = await loadModel(files);
    stage = 'plan';
    const pruned = applyPlanTyped(opened);
    stage = 'build';
    model = await loadLayersModelFromArtifacts(pruned);
    stage = 'predict';
    const shape = model.inputs[0]!.shape.map((d, i) => (i === 0 ? 1 : (d ?? 1)));
    if (model.inputs.length === 1 && shape.reduce((n, d) => n * d, 1) <= 1 << 20) {
      tf.tidy(() => {
        const x = tf.zeros(shape);
        const y = predictChecked(model!, x);
        (Array.isArray(y) ? y : [y]).forEach((t) => t.dataSync());
      });
    }
    stage = 'done';
    model.dispose();
    return end({ result: 'accepted' });
  } catch (e) {
    model?.dispose();
    const message = e instanceof Error ? e.message : String(e);
    if (isModelLoadError(e)) return end({ result: 'typed', code: e.code, message });
    return end({
      result: 'untyped',
      message: `${e instanceof Error ? e.name : typeof e}: ${message}`.slice(0, 300),
    });
  }
}

/** applyPlan's own "cannot be applied" is a plan problem; on a model the loader accepted it must not happen. */
function applyPlanTyped(opened: Awaited<ReturnType<typeof loadModel>>) {
  return applyPlan(opened.artifacts, smallPlan(opened.graph), opened.ir, opened.graph).artifacts;
}
