import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type { InputFile } from '../core/ir/artifacts';

async function readInput(path: string, root: string): Promise<InputFile> {
  return { path: relative(root, path) || basename(path), bytes: new Uint8Array(await readFile(path)) };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Weight file names a model.json lists, or [] if it is not such a JSON (the loader reports why). */
function manifestPaths(bytes: Uint8Array): string[] {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { weightsManifest?: { paths?: unknown }[] };
    return (json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g.paths) ? g.paths.map(String) : []));
  } catch {
    return [];
  }
}

/**
 * Reads what a user names on the command line the way the page reads a drop: a model.json (plus the
 * weight files its manifest lists, from its folder, when they exist), a folder (every file in it), or a zip.
 */
export async function readModelInput(path: string): Promise<InputFile[]> {
  const info = await stat(path);
  if (info.isDirectory()) return Promise.all((await listFiles(path)).map((p) => readInput(p, path)));
  const dir = dirname(path);
  const main = await readInput(path, dir);
  const shards: InputFile[] = [];
  for (const p of manifestPaths(main.bytes)) {
    const full = join(dir, p);
    try {
      shards.push(await readInput(full, dir));
    } catch {
      // Missing shards are reported by the loader, which names them all.
    }
  }
  return [main, ...shards];
}
