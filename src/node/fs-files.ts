/**
 * Reading what a user names on the command line the way the page reads a drop. Paths that come from
 * inside a file (a weights manifest's `paths`) are confined to the model.json's own folder: no `..`,
 * no absolute path, no symlink whose target leaves the folder (checked on the real path). A folder
 * walk does not follow symlinks out of the folder and stops at named limits on files and bytes.
 */
import { onnxExternalLocations } from '../core/io/onnx/format';
import { looksLikeOnnx } from '../core/io/onnx/proto';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { ModelLoadError } from '../core/io/errors';
import { formatLimit } from '../core/io/limits';
import { confineManifestPath } from '../core/io/tfjs-format';
import { confinedPath } from '../core/io/zip';
import type { InputFile } from '../core/ir/artifacts';

/** Named limits on what one command-line input may read from disk. */
export const INPUT_LIMITS = {
  /** Files in a folder walk (a model folder or an image folder). */
  maxFiles: 100_000,
  /** Bytes read for one input, all files together. */
  maxBytes: 4 * 1024 ** 3,
  /** Folder nesting in a walk. */
  maxDepth: 32,
} as const;

export type InputLimits = { [K in keyof typeof INPUT_LIMITS]: number };

const fmt = (n: number) => n.toLocaleString('en-US');

/** True when `p` is `root` or inside it (both real, absolute paths). */
function isInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
}

/** Adds up bytes against the limit; throws LIMIT_EXCEEDED naming the input. */
function budget(input: string, limits: InputLimits) {
  let bytes = 0;
  return (size: number, file: string) => {
    bytes += size;
    if (bytes > limits.maxBytes) {
      throw new ModelLoadError(
        'LIMIT_EXCEEDED',
        `'${input}' holds more than ${formatLimit(limits.maxBytes)} (at '${file}'), the limit for one input.`,
        { file: input },
      );
    }
  };
}

async function readInput(path: string, root: string): Promise<InputFile> {
  return { path: relative(root, path) || basename(path), bytes: new Uint8Array(await readFile(path)) };
}

/**
 * Every regular file under `dir` with its size: symlinks are followed only to files whose real path
 * stays inside the folder (symlinked folders are not descended, so no cycle); counts are capped.
 */
async function listFiles(dir: string, limits: InputLimits): Promise<{ path: string; size: number }[]> {
  const rootReal = await realpath(dir);
  const out: { path: string; size: number }[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    if (depth > limits.maxDepth) {
      throw new ModelLoadError(
        'LIMIT_EXCEEDED',
        `'${d}' is nested more than ${limits.maxDepth} folders deep in '${dir}', the limit for a folder.`,
        { file: dir },
      );
    }
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        await walk(p, depth + 1);
        continue;
      }
      let size: number;
      if (e.isSymbolicLink()) {
        let real: string;
        try {
          real = await realpath(p);
        } catch {
          continue; // dangling
        }
        if (!isInside(rootReal, real)) continue; // never read outside the folder
        const s = await stat(real);
        if (!s.isFile()) continue;
        size = s.size;
      } else if (e.isFile()) {
        size = (await lstat(p)).size;
      } else continue;
      out.push({ path: p, size });
      if (out.length > limits.maxFiles) {
        throw new ModelLoadError(
          'LIMIT_EXCEEDED',
          `'${dir}' holds more than ${fmt(limits.maxFiles)} files, the limit for a folder.`,
          { file: dir },
        );
      }
    }
  };
  await walk(dir, 0);
  return out;
}

/** Weight file names a model.json lists, or [] if it is not such a JSON (the loader reports why). */
function manifestPaths(bytes: Uint8Array): unknown[] {
  // An ONNX model's external-data files (`model.onnx.data`) are its shards.
  if (looksLikeOnnx(bytes)) return onnxExternalLocations(bytes);
  // Only a JSON object is worth decoding (a zip or .h5 named on the command line is not).
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)
  )
    i++;
  if (bytes[i] !== 0x7b) return [];
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { weightsManifest?: unknown };
    if (!Array.isArray(json?.weightsManifest)) return [];
    return (json.weightsManifest as { paths?: unknown }[]).flatMap((g) =>
      g && Array.isArray(g.paths) ? (g.paths as unknown[]) : [],
    );
  } catch {
    return [];
  }
}

/**
 * The file a manifest path names, inside the model.json's folder; throws PATH_ESCAPE for a path that
 * is absolute, climbs out with `..`, or resolves (through symlinks) outside the folder. Null when the
 * file is not there (the loader names missing shards).
 */
async function confinedShard(
  dir: string,
  dirReal: string,
  raw: string,
  modelFile: string,
): Promise<string | null> {
  const shown = raw.length > 120 ? `${raw.slice(0, 117)}...` : raw;
  const escape = (why: string) =>
    new ModelLoadError(
      'PATH_ESCAPE',
      `'${modelFile}' lists the weight file '${shown}', whose path leaves the model's folder (${why}). ` +
        `Only files beside ${modelFile} or below it are read.`,
      { file: modelFile },
    );
  // The loader's own rule first (absolute, drive letter, '..' above the folder, URL-encoded too).
  confineManifestPath(raw, modelFile);
  if (raw.includes('\0')) throw escape('a NUL character');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw escape('an absolute URL');
  const candidates = [raw];
  try {
    candidates.push(decodeURIComponent(raw));
  } catch {
    // Not URL-encoded.
  }
  for (const c of candidates) {
    const confined = confinedPath(c);
    if ('escape' in confined) throw escape(confined.escape);
    const full = join(dir, confined.path);
    let real: string;
    try {
      real = await realpath(full);
    } catch {
      continue; // not there under this spelling
    }
    // A symlink (the file, or a folder on the way) that leads out is an escape too.
    if (!isInside(dirReal, real)) throw escape(`a symlink to '${real}'`);
    return full;
  }
  return null;
}

/**
 * Reads what a user names on the command line the way the page reads a drop: a model.json (plus the
 * weight files its manifest lists, from its folder, when they exist), a folder (every file in it), or
 * a zip. Throws NO_FILES for a path that is not there, PATH_ESCAPE for a manifest path that leaves the
 * model's folder, LIMIT_EXCEEDED past `INPUT_LIMITS`.
 */
export async function readModelInput(path: string, limits: InputLimits = INPUT_LIMITS): Promise<InputFile[]> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new ModelLoadError('NO_FILES', `'${path}' does not exist.`, { file: path });
    throw e;
  }
  const spend = budget(path, limits);
  if (info.isDirectory()) {
    const listed = await listFiles(path, limits);
    for (const f of listed) spend(f.size, f.path);
    return Promise.all(listed.map((f) => readInput(f.path, path)));
  }
  spend(info.size, path);
  const dir = dirname(path);
  const main = await readInput(path, dir);
  const dirReal = await realpath(dir);
  const shards: InputFile[] = [];
  const seen = new Set<string>();
  for (const p of manifestPaths(main.bytes)) {
    if (typeof p !== 'string') continue; // the loader reports a malformed manifest
    const full = await confinedShard(dir, dirReal, p, basename(path));
    if (full === null || seen.has(full)) continue; // missing shards are reported by the loader, which names them all
    seen.add(full);
    const s = await stat(full);
    if (!s.isFile()) continue;
    spend(s.size, full);
    shards.push(await readInput(full, dir));
  }
  return [main, ...shards];
}
