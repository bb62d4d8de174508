/**
 * Atomic output for every CLI writer. Nothing is written at the final path until everything is
 * written: a file goes to a temporary sibling (`.<name>.tmp-<pid>-<random>`, same folder, so the
 * rename cannot cross file systems), is fsynced, then renamed into place; a folder (TF.js
 * model.json + shards) is built whole as a temporary sibling folder, then swapped in (the old one
 * renamed away, the new one renamed in, the old one removed). So a failure (full disk, a killed
 * process, a bad path) leaves what was there before byte for byte, and a success into a used folder
 * leaves no stale shards. An existing output is replaced only with `force`.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';

/** One file of an output: a path relative to the output folder, and its bytes or text. */
export interface OutputFile {
  path: string;
  bytes: Uint8Array | string;
}

/** Options of the atomic writers. */
export interface WriteOutputOptions {
  /** Replace an existing output (a non-empty folder, or a file) whole. Without it, one is refused. */
  force?: boolean;
  /**
   * Test hook, called after each file is written into the temporary output (its relative path and
   * 0-based index): throwing from it simulates a failure mid-write (a full disk, a killed process).
   */
  afterFile?: (path: string, index: number) => void | Promise<void>;
}

/** An output that exists and was not to be replaced: the CLI reports it as a usage error. */
export class OutputExistsError extends Error {
  readonly path: string;
  constructor(path: string, what: string) {
    super(`--out '${path}' ${what}; pass --force to replace it.`);
    this.name = 'OutputExistsError';
    this.path = path;
  }
}

/** A temporary sibling name for `path`: hidden, unique, short enough for any file system. */
function tempSibling(path: string, kind: 'tmp' | 'old'): string {
  const name = basename(path).slice(0, 64);
  return join(dirname(path), `.${name}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** What is at `path`: nothing, a file, an empty folder or a non-empty folder. */
async function existing(path: string): Promise<'none' | 'file' | 'empty-dir' | 'dir'> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) return 'file';
    return (await readdir(path)).length === 0 ? 'empty-dir' : 'dir';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      // A dangling symlink is something there too.
      try {
        await lstat(path);
        return 'file';
      } catch {
        return 'none';
      }
    }
    throw e;
  }
}

/**
 * Refuses, before any work, an output that exists unless `force`: a non-empty folder (or a file in
 * its place) for `kind` 'folder'; any file for 'file'; a folder where a file is to go, always.
 * Throws `OutputExistsError`.
 */
export async function checkOutput(path: string, kind: 'folder' | 'file', force = false): Promise<void> {
  const what = await existing(path);
  if (kind === 'file' && (what === 'dir' || what === 'empty-dir')) {
    throw new OutputExistsError(path, 'is a folder, not a file');
  }
  if (force || what === 'none' || (kind === 'folder' && what === 'empty-dir')) return;
  throw new OutputExistsError(path, what === 'dir' ? 'is a folder that is not empty' : 'already exists');
}

/** Writes and fsyncs one file (fsync makes the rename publish complete bytes after a crash). */
async function writeSynced(path: string, bytes: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Best-effort fsync of a folder, so the rename itself is durable; not every file system allows it. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EISDIR/EPERM/EINVAL on some platforms: the data itself is synced already.
  }
}

/** A relative path inside the output folder, or an error: writers never write outside `--out`. */
function inside(root: string, rel: string): string {
  const n = normalize(rel);
  if (rel === '' || isAbsolute(rel) || n === '..' || n.startsWith(`..${sep}`)) {
    throw new Error(`Refusing to write '${rel}' outside the output folder.`);
  }
  return join(root, n);
}

/**
 * Writes `files` as the folder `dir`, atomically: built whole in a temporary sibling folder, then
 * swapped in; on any failure the temporary folder is removed and what was at `dir` is untouched.
 * An existing non-empty `dir` (or a file there) is refused unless `force`. Returns the final paths.
 */
export async function writeOutputFolder(
  dir: string,
  files: OutputFile[],
  opts: WriteOutputOptions = {},
): Promise<string[]> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  await checkOutput(dir, 'folder', opts.force);
  const tmp = tempSibling(target, 'tmp');
  await mkdir(tmp);
  try {
    for (const [i, f] of files.entries()) {
      const p = inside(tmp, f.path);
      await mkdir(dirname(p), { recursive: true });
      await writeSynced(p, f.bytes);
      await opts.afterFile?.(f.path, i);
    }
    await syncDir(tmp);
    // Checked again: another process may have written there while this one worked.
    await checkOutput(dir, 'folder', opts.force);
    const what = await existing(target);
    if (what === 'none') {
      await rename(tmp, target);
    } else {
      const old = tempSibling(target, 'old');
      await rename(target, old);
      try {
        await rename(tmp, target);
      } catch (e) {
        await rename(old, target);
        throw e;
      }
      await rm(old, { recursive: true, force: true });
    }
    await syncDir(dirname(target));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return files.map((f) => join(dir, f.path));
}

/**
 * Writes one file atomically: to a temporary sibling, fsynced, then renamed over `path`. An existing
 * file is refused unless `force`; a folder at `path` always. On failure nothing at `path` changes.
 */
export async function writeOutputFile(
  path: string,
  bytes: Uint8Array | string,
  opts: WriteOutputOptions = {},
): Promise<void> {
  await writeOutputFiles([{ path, bytes }], opts);
}

/**
 * Writes several single files (e.g. `<prefix>.csv` and `<prefix>.json`) atomically each, and all or
 * none as far as the file system allows: every temporary is written before the first rename.
 */
export async function writeOutputFiles(files: OutputFile[], opts: WriteOutputOptions = {}): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(resolve(f.path)), { recursive: true });
    await checkOutput(f.path, 'file', opts.force);
  }
  const temps: string[] = [];
  try {
    for (const [i, f] of files.entries()) {
      const tmp = tempSibling(resolve(f.path), 'tmp');
      temps.push(tmp);
      await writeSynced(tmp, f.bytes);
      await opts.afterFile?.(f.path, i);
    }
    for (const f of files) await checkOutput(f.path, 'file', opts.force);
    for (const [i, f] of files.entries()) {
      await rename(temps[i]!, resolve(f.path));
      temps[i] = '';
    }
    for (const d of new Set(files.map((f) => dirname(resolve(f.path))))) await syncDir(d);
  } catch (e) {
    await Promise.all(temps.filter((t) => t !== '').map((t) => rm(t, { force: true })));
    throw e;
  }
}
