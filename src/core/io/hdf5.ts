/**
 * HDF5 in memory, in the browser, a worker and Node, through h5wasm (the HDF5 C library compiled to
 * WebAssembly; its ESM build embeds the .wasm, so nothing has to be served). Everything else in
 * PruneLab sees two small shapes: a read-only view of a file (`H5GroupView`, used synchronously
 * inside `readHdf5`) and a plain tree to write (`H5WriteGroup` -> bytes by `writeHdf5`).
 *
 * h5wasm works on an Emscripten in-memory file system: bytes are copied in with `FS.writeFile`, opened,
 * read or written, and copied out with `FS.readFile`. All of it is synchronous once the module is
 * ready, so one `await` before and none during keeps concurrent callers apart (each uses its own name).
 * HDF5's own errors are switched to exceptions (`activate_throwing_error_handler`): by default the
 * library prints them and carries on, e.g. a dataset under a missing group is silently not written.
 *
 * The module (about 4 MB of JavaScript with the wasm inside, 1 MB gzipped) is imported on first use,
 * so the app's first load does not pay for it.
 */
import type { Dataset as H5Dataset, Group as H5Group } from 'h5wasm';
import { ModelLoadError } from './errors';
import { MAX_HDF5_DEPTH, MAX_HDF5_WALK_STEPS } from './limits';
import { checkTensorDeclaration, WeightBudget } from './weight-checks';

type H5wasm = (typeof import('h5wasm'))['default'];
interface Loaded {
  h5: H5wasm;
  fs: {
    writeFile(path: string, data: Uint8Array): void;
    readFile(path: string): Uint8Array;
    unlink(path: string): void;
  };
  /** HDF5 datatype class codes (`H5T_INTEGER`, `H5T_FLOAT`). */
  classes: { integer: number; float: number };
}

let loading: Promise<Loaded> | undefined;
let counter = 0;

/** Loads h5wasm once (dynamic import, so bundlers split it into its own chunk). */
function loadHdf5(): Promise<Loaded> {
  loading ??= (async () => {
    const h5 = (await import('h5wasm')).default;
    const module = await h5.ready;
    module.activate_throwing_error_handler();
    const fs = module.FS as unknown as Loaded['fs'];
    const classes = {
      integer: module.H5T_class_t.H5T_INTEGER.value,
      float: module.H5T_class_t.H5T_FLOAT.value,
    };
    return { h5, fs, classes };
  })();
  return loading;
}

/**
 * Starts loading the HDF5 library (about 1 MB gzipped) ahead of need, e.g. when the page is idle, so
 * that opening the first .h5 / .keras or exporting one does not wait for it. Optional.
 */
export async function preloadHdf5(): Promise<void> {
  await loadHdf5();
}

/** The 8-byte HDF5 signature `\x89HDF\r\n\x1a\n`. */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * True when the bytes are an HDF5 file: the signature at offset 0, or after a user block (512, 1024,
 * 2048... bytes, as the HDF5 spec allows).
 */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let at = 0; at + SIGNATURE.length <= bytes.length && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
    if (SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

/** A numeric dataset read into JavaScript: floats as float32, integers as int32. */
export interface H5Array {
  shape: number[];
  /** What the file stores, e.g. `float32`, `float64`, `int64`, `float16`. */
  stored: string;
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

/**
 * A read-only view of an HDF5 group, valid only inside the `readHdf5` callback. Walking is bounded:
 * a group reached again below itself (a hard link cycle such as `/layers/conv2d/loop -> /layers`) is
 * `ModelLoadError('CYCLE')`; more than `MAX_HDF5_WALK_STEPS` steps walked (links weighted by depth), or groups nested
 * deeper than `MAX_HDF5_DEPTH`, is `LIMIT_EXCEEDED`.
 */
export interface H5GroupView {
  readonly kind: 'group';
  /** Absolute path in the file, `/` for the root (a path through links: one object can have several). */
  readonly path: string;
  /** The object's identity in the file (its address): equal for two paths to the same group. */
  readonly id: string;
  /** Names of the links in this group (alphabetical, as HDF5 lists them). */
  keys(): string[];
  /** A child by name or relative path (`a/b`), or `undefined`. */
  get(name: string): H5GroupView | H5DatasetView | undefined;
  attrNames(): string[];
  /** An attribute's value: a string, a string list, a number list, or `undefined` when absent. */
  attr(name: string): unknown;
}

/** A read-only view of an HDF5 dataset, valid only inside the `readHdf5` callback. */
export interface H5DatasetView {
  readonly kind: 'dataset';
  readonly path: string;
  readonly shape: number[];
  attr(name: string): unknown;
  /**
   * The values, converted to float32 / int32. The declared shape is checked against `MAX_TENSOR_BYTES`
   * and the file's running total against `MAX_MODEL_WEIGHT_BYTES` before anything is read
   * (LIMIT_EXCEEDED); strings, compounds and the like are BAD_WEIGHTS.
   */
  read(): H5Array;
}

function attrValue(attrs: Record<string, { value: unknown }>, name: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(attrs, name)) return undefined;
  const v = attrs[name]!.value;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => Number(x));
  }
  return v;
}

function describeStored(meta: { type: number; size: number; signed: boolean }, floatClass: number): string {
  if (meta.type === floatClass) return `float${meta.size * 8}`;
  return `${meta.signed ? 'int' : 'uint'}${meta.size * 8}`;
}

/** Where an array is read from: the file's name (for messages) and the budget all its datasets share. */
interface ReadContext {
  fileName: string;
  budget: WeightBudget;
}

/** A dataset's path for messages, without the leading `/` (`layers/dense/vars/0`). */
function datasetName(d: H5Dataset): string {
  return d.path.replace(/^\/+/, '');
}

function readArray(d: H5Dataset, classes: { integer: number; float: number }, ctx: ReadContext): H5Array {
  const meta = d.metadata;
  const shape = [...(d.shape ?? [])];
  const where = { file: ctx.fileName };
  const name = `dataset '${datasetName(d)}'`;
  if (meta.type !== classes.integer && meta.type !== classes.float) {
    throw new ModelLoadError(
      'BAD_WEIGHTS',
      `${name} in '${ctx.fileName}' holds ${JSON.stringify(d.dtype).slice(0, 60)} data, not numbers.`,
      where,
    );
  }
  const stored = describeStored(meta, classes.float);
  // Checked before h5wasm reads anything: it would allocate the stored size, and we the float32/int32 copy.
  const bytes = checkTensorDeclaration(name, shape, stored, Math.max(4, meta.size), where);
  ctx.budget.add(name, bytes, where);
  const raw = d.value as unknown;
  const count = shape.reduce((n, x) => n * x, 1);
  const list =
    raw === null || raw === undefined
      ? []
      : typeof raw === 'number' || typeof raw === 'bigint'
        ? [raw]
        : (raw as ArrayLike<number | bigint>);
  if (list.length !== count) {
    throw new ModelLoadError(
      'BAD_WEIGHTS',
      `${name} in '${ctx.fileName}' has shape [${shape.join(', ')}] but ${list.length} values.`,
      where,
    );
  }
  if (meta.type === classes.float) {
    if (meta.size === 2 && list instanceof Uint16Array) {
      // An h5wasm without Float16Array support hands over the raw halves.
      throw new ModelLoadError(
        'UNSUPPORTED_DTYPE',
        `${name} in '${ctx.fileName}' is float16, which this HDF5 reader cannot convert.`,
        where,
      );
    }
    const values = list instanceof Float32Array ? list.slice() : Float32Array.from(list, Number);
    return { shape, stored, dtype: 'float32', values };
  }
  return { shape, stored, dtype: 'int32', values: Int32Array.from(list, Number) };
}

/** The target of a soft link at `path`, or undefined when it is not one. */
function softLinkTarget(g: H5Group, path: string): string | undefined {
  try {
    return g.get_link(path);
  } catch {
    return undefined;
  }
}

/** A short reason from an h5wasm / HDF5 error (the library's messages run to dozens of lines). */
export function hdf5Reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const minor = /minor: ([^\n]+)/.exec(text)?.[1]?.trim();
  const where = /in (H5\w+\(\)): ([^\n]+)/.exec(text);
  if (where) return `${where[2]!.trim()}${minor ? ` (${minor.toLowerCase()})` : ''}`;
  return text.split('\n')[0]!.slice(0, 200);
}

/**
 * Opens HDF5 bytes and calls `use` with the root group, synchronously; the file is closed and removed
 * from the in-memory file system afterwards, whatever happens. An unreadable file (truncated, not HDF5)
 * throws `ModelLoadError('BAD_HDF5')` naming `fileName`; errors thrown by `use` pass through, and an
 * HDF5 error while reading inside `use` becomes `BAD_HDF5` too.
 */
export async function readHdf5<T>(
  bytes: Uint8Array,
  fileName: string,
  use: (root: H5GroupView) => T,
): Promise<T> {
  const { h5, fs, classes } = await loadHdf5();
  const tmp = `/prunelab-read-${++counter}.h5`;
  fs.writeFile(tmp, bytes);
  let file: InstanceType<H5wasm['File']> | undefined;
  const bad = (e: unknown) =>
    new ModelLoadError(
      'BAD_HDF5',
      `'${fileName}' is not a readable HDF5 file (truncated or corrupt?): ${hdf5Reason(e)}.`,
      { file: fileName },
    );
  try {
    try {
      file = new h5.File(tmp, 'r');
    } catch (e) {
      throw bad(e);
    }
    const ctx: ReadContext = { fileName, budget: new WeightBudget() };
    const where = { file: fileName };
    let steps = 0;
    const countSteps = (n: number, at: string): void => {
      steps += n;
      if (steps > MAX_HDF5_WALK_STEPS) {
        throw new ModelLoadError(
          'LIMIT_EXCEEDED',
          `'${fileName}' takes more than ${MAX_HDF5_WALK_STEPS} steps to walk (links weighted by their depth; ` +
            `reached at '${at.slice(0, 200)}'), over the limit for one HDF5 file.`,
          where,
        );
      }
    };
    const identity = (g: H5Group): string => {
      try {
        return g.create_reference().ref_data.join(',');
      } catch {
        return `path:${g.path}`; // no address to be had: the path and the depth limit still bound the walk
      }
    };
    const wrapDataset = (d: H5Dataset): H5DatasetView => ({
      kind: 'dataset',
      path: d.path,
      get shape() {
        return [...(d.shape ?? [])];
      },
      attr: (name) => attrValue(d.attrs, name),
      read: () => readArray(d, classes, ctx),
    });
    /** `ancestors`: identity -> path of this group and every group above it on the way here. */
    const wrapGroup = (g: H5Group, ancestors: ReadonlyMap<string, string>, id: string): H5GroupView => ({
      kind: 'group',
      path: g.path,
      id,
      keys: () => {
        const keys = g.keys();
        countSteps(keys.length, g.path);
        return keys;
      },
      get(name) {
        const path = `${g.path === '/' ? '' : g.path}/${name}`;
        countSteps(Math.max(1, path.split('/').length - 1), path);
        let child: ReturnType<H5Group['get']>;
        try {
          child = g.get(name);
        } catch (e) {
          // A soft link to nothing: HDF5 cannot tell its type. Absent, like a name that is not there.
          if (softLinkTarget(g, path) !== undefined) return undefined;
          throw e;
        }
        // External links (to other files, e.g. /etc/passwd) and broken links come back as neither
        // group nor dataset: never followed.
        if (child instanceof h5.Dataset) return wrapDataset(child);
        if (child instanceof h5.Group) {
          const depth = child.path.split('/').filter((p) => p !== '').length;
          if (depth > MAX_HDF5_DEPTH) {
            throw new ModelLoadError(
              'LIMIT_EXCEEDED',
              `'${fileName}' nests groups ${depth} deep at '${child.path.slice(0, 200)}', over the limit of ${MAX_HDF5_DEPTH}.`,
              where,
            );
          }
          const childId = identity(child);
          const seen = ancestors.get(childId);
          if (seen !== undefined) {
            throw new ModelLoadError(
              'CYCLE',
              `'${fileName}' has an HDF5 link cycle: '${child.path.slice(0, 200)}' is the group '${seen}' again, ` +
                `which contains it. Walking it would never end.`,
              where,
            );
          }
          return wrapGroup(child, new Map([...ancestors, [childId, child.path]]), childId);
        }
        return undefined;
      },
      attrNames: () => Object.keys(g.attrs),
      attr: (name) => attrValue(g.attrs, name),
    });
    const rootId = identity(file);
    const root = wrapGroup(file, new Map([[rootId, '/']]), rootId);
    try {
      return use(root);
    } catch (e) {
      if (e instanceof ModelLoadError) throw e;
      if (e instanceof Error && /HDF5-DIAG/.test(e.message)) throw bad(e);
      throw e;
    }
  } finally {
    try {
      file?.close();
    } catch {
      // Closing a file that failed half-way can fail too; the bytes are dropped below anyway.
    }
    fs.unlink(tmp);
  }
}

/** An attribute to write. Strings are variable-length UTF-8 unless `fixed` (Keras 2's `|S` byte strings). */
export type H5WriteAttr =
  | { kind: 'string'; value: string }
  | { kind: 'strings'; values: string[]; fixed?: boolean }
  /** An empty float64 list: what h5py writes for an empty Python list (Keras 2's `weight_names` of a weightless layer). */
  | { kind: 'empty' };

/** A float32 / int32 dataset to write, row-major, contiguous and uncompressed (as Keras writes them). */
export interface H5WriteDataset {
  kind: 'dataset';
  shape: number[];
  values: Float32Array | Int32Array;
  attrs?: [string, H5WriteAttr][];
}

/** A group to write: attributes and children in the order given (HDF5 lists them alphabetically anyway). */
export interface H5WriteGroup {
  kind: 'group';
  attrs?: [string, H5WriteAttr][];
  children?: [string, H5WriteGroup | H5WriteDataset][];
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).byteLength;
}

type HasAttrs = Pick<H5Group, 'create_attribute'>;

function writeAttrs(target: HasAttrs, attrs: [string, H5WriteAttr][] | undefined): void {
  for (const [name, a] of attrs ?? []) {
    if (a.kind === 'string') target.create_attribute(name, a.value);
    else if (a.kind === 'empty') target.create_attribute(name, new Float64Array(0), [0]);
    else if (a.fixed) {
      // NULLTERM fixed-length: one byte more than the longest, so that a reader that wants the NUL finds it.
      const size = Math.max(1, ...a.values.map(utf8Length)) + 1;
      target.create_attribute(name, a.values, [a.values.length], `A${size}`);
    } else target.create_attribute(name, a.values, [a.values.length], 'S');
  }
}

/**
 * Writes a tree as an HDF5 file and returns its bytes, e.g.
 * `writeHdf5({kind: 'group', children: [['w', {kind: 'dataset', shape: [2], values: Float32Array.of(1, 2)}]]})`.
 * Throws a plain Error (with HDF5's reason) if the library refuses anything: a file is complete or not written.
 */
export async function writeHdf5(root: H5WriteGroup): Promise<Uint8Array> {
  const { h5, fs } = await loadHdf5();
  const tmp = `/prunelab-write-${++counter}.h5`;
  try {
    const file = new h5.File(tmp, 'w');
    try {
      const fill = (group: H5Group, node: H5WriteGroup): void => {
        writeAttrs(group, node.attrs);
        for (const [name, child] of node.children ?? []) {
          if (child.kind === 'group') fill(group.create_group(name), child);
          else {
            const n = child.shape.reduce((p, d) => p * d, 1);
            if (n !== child.values.length) {
              throw new Error(
                `writeHdf5: '${name}' has shape [${child.shape.join(', ')}] but ${child.values.length} values.`,
              );
            }
            const d = group.create_dataset({ name, data: child.values, shape: child.shape });
            writeAttrs(d, child.attrs);
          }
        }
      };
      fill(file, root);
    } finally {
      file.close();
    }
    return fs.readFile(tmp).slice();
  } catch (e) {
    if (e instanceof Error && /HDF5-DIAG/.test(e.message)) throw new Error(`writeHdf5: ${hdf5Reason(e)}`);
    throw e;
  } finally {
    try {
      fs.unlink(tmp);
    } catch {
      // Nothing was created.
    }
  }
}
