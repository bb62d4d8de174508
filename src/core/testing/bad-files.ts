/**
 * Test-only (Node): the bad-file corpus, `test/bad-files/<area>/cases.json`, in the manner of netron's
 * test corpus. Each area's cases.json is a JSON array of
 *
 *   { "id": "zip-bad-crc", "kind": "model" | "samples" | "plan", "input": ["zip-bad-crc.zip"],
 *     "code": "BAD_ARCHIVE" | null, "warning"?: "substring of a warning", "generate"?: "zipBomb",
 *     "why": "what is wrong with it" }
 *
 * `input` paths are relative to the area folder, or, for a case with `generate`, to the temporary
 * folder the generator (test/bad-files/generate.ts) writes into. `code: null` means "must load",
 * with `warning` among its warnings when given. `plan` and `samples` cases are run against the bundled
 * sample model (public/samples/mnist-cnn: 28x28x1 in, 10 classes out).
 */
/* eslint-disable no-restricted-imports -- test-only helper: reads the corpus from disk in Node */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
/* eslint-enable no-restricted-imports */
import type { InputFile } from '../ir/artifacts';
import type { ModelLoadErrorCode } from '../io/errors';

/** The repository's root folder. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where the corpus lives. */
export const BAD_FILES_ROOT = join(REPO_ROOT, 'test', 'bad-files');
/** The model `plan` and `samples` cases are run against. */
export const SAMPLE_MODEL_DIR = join(REPO_ROOT, 'public', 'samples', 'mnist-cnn');

export type BadFileKind = 'model' | 'samples' | 'plan';

/** One case of the corpus, with where it came from. */
export interface BadFileCase {
  id: string;
  kind: BadFileKind;
  input: string[];
  code: ModelLoadErrorCode | null;
  warning?: string;
  generate?: string;
  why: string;
  /** The area (folder name) the case is listed in. */
  area: string;
  /** The area folder, which `input` is relative to (unless generated). */
  dir: string;
}

function fail(where: string, what: string): never {
  throw new Error(`${where}: ${what}`);
}

/** Checks one raw entry of a cases.json against the format above. */
function readCase(raw: unknown, area: string, dir: string, index: number): BadFileCase {
  const where = `test/bad-files/${area}/cases.json entry ${index + 1}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'not an object');
  const c = raw as Record<string, unknown>;
  if (typeof c['id'] !== 'string' || c['id'] === '') fail(where, "no string 'id'");
  const at = `${where} ('${c['id']}')`;
  if (c['kind'] !== 'model' && c['kind'] !== 'samples' && c['kind'] !== 'plan')
    fail(at, `kind ${String(c['kind'])}`);
  const input = c['input'];
  if (!Array.isArray(input) || input.length === 0 || !input.every((p) => typeof p === 'string')) {
    fail(at, "'input' is not a non-empty list of paths");
  }
  if (c['code'] !== null && typeof c['code'] !== 'string') fail(at, "'code' is neither a string nor null");
  if (c['warning'] !== undefined && typeof c['warning'] !== 'string') fail(at, "'warning' is not a string");
  if (c['generate'] !== undefined && typeof c['generate'] !== 'string')
    fail(at, "'generate' is not a string");
  if (typeof c['why'] !== 'string' || c['why'] === '') fail(at, "no 'why'");
  const out: BadFileCase = {
    id: c['id'],
    kind: c['kind'],
    input,
    code: c['code'] as ModelLoadErrorCode | null,
    why: c['why'],
    area,
    dir,
  };
  if (typeof c['warning'] === 'string') out.warning = c['warning'];
  if (typeof c['generate'] === 'string') out.generate = c['generate'];
  if (out.generate === undefined) {
    for (const p of out.input) if (!existsSync(join(dir, p))) fail(at, `input '${p}' does not exist`);
  }
  return out;
}

/**
 * Every case of every area (`test/bad-files/<area>/cases.json`), areas in name order; throws on a
 * malformed cases.json, a duplicate id or a missing committed input.
 */
export function listBadFileCases(root = BAD_FILES_ROOT): BadFileCase[] {
  const areas = readdirSync(root)
    .filter((a) => statSync(join(root, a)).isDirectory() && existsSync(join(root, a, 'cases.json')))
    .sort();
  const out: BadFileCase[] = [];
  const ids = new Map<string, string>();
  for (const area of areas) {
    const dir = join(root, area);
    const raw = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as unknown;
    if (!Array.isArray(raw)) fail(`test/bad-files/${area}/cases.json`, 'not a JSON array');
    raw.forEach((entry, i) => {
      const c = readCase(entry, area, dir, i);
      const other = ids.get(c.id);
      if (other !== undefined)
        fail(`test/bad-files/${area}/cases.json`, `id '${c.id}' is also used in ${other}`);
      ids.set(c.id, area);
      out.push(c);
    });
  }
  return out;
}

async function collect(base: string, path: string, out: InputFile[]): Promise<void> {
  const full = join(base, path);
  if ((await stat(full)).isDirectory()) {
    for (const name of (await readdir(full)).sort()) await collect(base, join(path, name), out);
  } else {
    out.push({
      path: relative(base, full).split(sep).join('/'),
      bytes: new Uint8Array(await readFile(full)),
    });
  }
}

/** A case's input as files (folders read whole, paths relative to the area or temp folder), and a cleanup. */
export interface MaterialisedCase {
  files: InputFile[];
  /** The folder the input paths are relative to. */
  base: string;
  /** Removes the generated temp folder, if any. */
  cleanup: () => Promise<void>;
}

/**
 * Reads a case's input; a generated case first runs its generator (from test/bad-files/generate.ts)
 * into a fresh temp folder, which `cleanup` removes.
 */
export async function materialiseCase(c: BadFileCase): Promise<MaterialisedCase> {
  let base = c.dir;
  let cleanup = () => Promise.resolve();
  if (c.generate !== undefined) {
    const { generators } = await import('../../../test/bad-files/generate');
    const make = generators[c.generate];
    if (!make) throw new Error(`case '${c.id}': no generator '${c.generate}' in test/bad-files/generate.ts`);
    base = await mkdtemp(join(tmpdir(), `prunelab-bad-${c.id}-`));
    const made = base;
    cleanup = () => rm(made, { recursive: true, force: true });
    try {
      await make(base);
    } catch (e) {
      await cleanup();
      throw e;
    }
  }
  const files: InputFile[] = [];
  for (const p of c.input) await collect(base, p, files);
  return { files, base, cleanup };
}

/** The bundled sample model's files (model.json and its shard). */
export async function sampleModelFiles(): Promise<InputFile[]> {
  const files: InputFile[] = [];
  await collect(SAMPLE_MODEL_DIR, '.', files);
  return files;
}
