import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelLoadError, type ModelLoadError } from '../core/io/errors';
import { INPUT_LIMITS, readModelInput } from './fs-files';

let root: string;
const secret = 'SECRET-BYTES-OUTSIDE-THE-MODEL';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'prunelab-fs-'));
  writeFileSync(join(root, 'secret.bin'), secret);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A model.json in its own folder whose manifest lists `paths`, with a real shard beside it. */
function modelWith(name: string, paths: string[]): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'w'), { recursive: true });
  writeFileSync(join(dir, 'shard.bin'), 'inside');
  writeFileSync(join(dir, 'w', 'deep.bin'), 'deep');
  const file = join(dir, 'model.json');
  writeFileSync(file, JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths, weights: [] }] }));
  return file;
}

async function code(p: Promise<unknown>): Promise<ModelLoadError> {
  try {
    await p;
  } catch (e) {
    expect(isModelLoadError(e), String(e)).toBe(true);
    return e as ModelLoadError;
  }
  throw new Error('expected an error');
}

describe('readModelInput', () => {
  it('reads a model.json and the shards its manifest lists, in subfolders too', async () => {
    const files = await readModelInput(modelWith('ok', ['shard.bin', './w/deep.bin', 'missing.bin']));
    expect(files.map((f) => f.path)).toEqual(['model.json', 'shard.bin', join('w', 'deep.bin')]);
  });

  it('refuses manifest paths that leave the model folder: .., absolute, symlinks out', async () => {
    for (const [name, p] of [
      ['dotdot', '../../../../etc/passwd'],
      ['dotdot2', 'w/../../secret.bin'],
      ['abs', join(root, 'secret.bin')],
      ['backslash', '..\\secret.bin'],
      ['url', 'file:///etc/passwd'],
    ] as const) {
      const err = await code(readModelInput(modelWith(name, ['shard.bin', p])));
      expect(err.code, name).toBe('PATH_ESCAPE');
      expect(err.message, name).toContain(p);
      expect(err.message, name).toContain('model.json');
    }
    const file = modelWith('link', ['shard.bin', 'link.bin']);
    symlinkSync(join(root, 'secret.bin'), join(root, 'link', 'link.bin'));
    expect((await code(readModelInput(file))).code).toBe('PATH_ESCAPE');
    // A symlinked folder leading out is refused the same way.
    const viaDir = modelWith('linkdir', ['out/secret.bin']);
    symlinkSync(root, join(root, 'linkdir', 'out'));
    expect((await code(readModelInput(viaDir))).code).toBe('PATH_ESCAPE');
    // A symlink that stays inside is fine.
    const inside = modelWith('linkin', ['alias.bin']);
    symlinkSync(join(root, 'linkin', 'shard.bin'), join(root, 'linkin', 'alias.bin'));
    const files = await readModelInput(inside);
    expect(new TextDecoder().decode(files[1]!.bytes)).toBe('inside');
  });

  it('a folder walk never reads through a symlink that leaves the folder, nor loops', async () => {
    const dir = join(root, 'walk');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.bin'), 'a');
    writeFileSync(join(dir, 'sub', 'b.bin'), 'b');
    symlinkSync(join(root, 'secret.bin'), join(dir, 'leak.bin'));
    symlinkSync(dir, join(dir, 'sub', 'loop'));
    symlinkSync(join(dir, 'a.bin'), join(dir, 'same.bin'));
    const files = await readModelInput(dir);
    expect(files.map((f) => f.path).sort()).toEqual(['a.bin', 'same.bin', join('sub', 'b.bin')]);
    expect(files.some((f) => new TextDecoder().decode(f.bytes).includes(secret))).toBe(false);
  });

  it('stops at the named limits on files and bytes, and names a missing path', async () => {
    const dir = join(root, 'many');
    mkdirSync(dir);
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.bin`), 'x'.repeat(100));
    const few = await code(readModelInput(dir, { ...INPUT_LIMITS, maxFiles: 3 }));
    expect(few.code).toBe('LIMIT_EXCEEDED');
    expect(few.message).toContain('more than 3 files');
    const small = await code(readModelInput(dir, { ...INPUT_LIMITS, maxBytes: 250 }));
    expect(small.code).toBe('LIMIT_EXCEEDED');
    expect(small.message).toContain('250 bytes');
    const file = modelWith('bytes', ['shard.bin']);
    expect((await code(readModelInput(file, { ...INPUT_LIMITS, maxBytes: 50 }))).code).toBe('LIMIT_EXCEEDED');
    const missing = await code(readModelInput(join(root, 'nope.json')));
    expect(missing.code).toBe('NO_FILES');
    expect(missing.message).toContain('nope.json');
    expect(readFileSync(join(root, 'secret.bin'), 'utf8')).toBe(secret);
  });
});
