import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { errorText } from './main';
import { runCli as run } from './run-cli';

const SAMPLE = join(import.meta.dirname, '..', '..', 'public', 'samples', 'mnist-cnn');
const MODEL = join(SAMPLE, 'model.json');

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'prunelab-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under a folder with its bytes (the byte-identical oracle). */
function snapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(folder)) out[name] = readFileSync(join(folder, name)).toString('base64');
  return out;
}

describe('prunelab output is atomic and never overwrites without --force', () => {
  it('refuses a non-empty --out folder, leaving it byte-identical; --force replaces it whole, no stale shards', async () => {
    const out = join(dir, 'used');
    expect((await run('prune', MODEL, '--ratio', '0.5', '--out', out)).code).toBe(0);
    writeFileSync(join(out, 'group1-shard2of2.bin'), 'stale shard from an older, larger model');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const before = snapshot(out);

    const refused = await run('prune', MODEL, '--ratio', '0.3', '--out', out);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--force');
    expect(refused.err).toContain(out);
    expect(snapshot(out)).toEqual(before);

    const forced = await run('prune', MODEL, '--ratio', '0.3', '--out', out, '--force', '--json');
    expect(forced.code, forced.err).toBe(0);
    const files = (JSON.parse(forced.out) as { files: string[] }).files;
    expect(readdirSync(out).sort()).toEqual([...files].sort());
    expect(readdirSync(out)).not.toContain('group1-shard2of2.bin');
    // No temporary or old sibling left beside the output.
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('single-file formats: an existing file is refused without --force and replaced with it', async () => {
    const out = join(dir, 'pruned.keras');
    writeFileSync(out, 'an older model');
    const refused = await run('prune', MODEL, '--ratio', '0.5', '--format', 'keras', '--out', out);
    expect(refused.code).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('an older model');
    const forced = await run('prune', MODEL, '--ratio', '0.5', '--format', 'keras', '--out', out, '--force');
    expect(forced.code, forced.err).toBe(0);
    expect(readFileSync(out).subarray(0, 2).toString()).toBe('PK');
  });

  it('a failing prune (a plan that does not fit) writes nothing and leaves the previous output intact', async () => {
    const out = join(dir, 'keep');
    expect((await run('prune', MODEL, '--ratio', '0.5', '--out', out)).code).toBe(0);
    const before = snapshot(out);
    const plan = join(dir, 'bad-plan.json');
    writeFileSync(plan, JSON.stringify({ version: 1, remove: { conv1: [99] } }));
    const r = await run('prune', MODEL, '--plan', plan, '--out', out, '--force');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error [BAD_PLAN]');
    expect(snapshot(out)).toEqual(before);
  });

  it('--help lists --force for every command that writes', async () => {
    const r = await run('--help');
    for (const cmd of ['prunelab prune', 'prunelab finetune', 'prunelab sensitivity']) {
      const start = r.out.indexOf(cmd);
      expect(start, cmd).toBeGreaterThanOrEqual(0);
      expect(r.out.slice(start, start + 400), cmd).toContain('[--force]');
    }
  });
});

describe('prunelab errors are typed at the boundary', () => {
  it('a plan file holding null is BAD_PLAN naming the file, not "Cannot read properties of null"', async () => {
    const plan = join(dir, 'null-plan.json');
    writeFileSync(plan, 'null');
    const r = await run('prune', MODEL, '--plan', plan, '--out', join(dir, 'np'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^prunelab prune: error \[BAD_PLAN\]: Plan file '.*null-plan\.json' holds null/);
    expect(r.err).not.toContain('Cannot read properties');
    expect(existsSync(join(dir, 'np'))).toBe(false);
  });

  it('a weights manifest path out of the folder is PATH_ESCAPE, and its bytes reach no output', async () => {
    const m = join(dir, 'escape');
    mkdirSync(m);
    const secret = join(dir, 'secret.bin');
    writeFileSync(secret, new Uint8Array(readFileSync(join(SAMPLE, 'group1-shard1of1.bin'))));
    const json = JSON.parse(readFileSync(MODEL, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    json.weightsManifest[0]!.paths = ['../secret.bin'];
    writeFileSync(join(m, 'model.json'), JSON.stringify(json));
    for (const argv of [['inspect'], ['prune', '--ratio', '0.3', '--out', join(dir, 'esc-out')]]) {
      const r = await run(argv[0]!, join(m, 'model.json'), ...argv.slice(1));
      expect(r.code, argv[0]).toBe(1);
      expect(r.err).toContain('error [PATH_ESCAPE]');
      expect(r.err).toContain('../secret.bin');
    }
    expect(existsSync(join(dir, 'esc-out'))).toBe(false);
  });

  it('a missing model is NO_FILES naming it; untyped errors print one line without a stack', async () => {
    const r = await run('inspect', join(dir, 'nope.json'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('error [NO_FILES]');
    expect(r.err).toContain('nope.json');
    const e = new Error('Something inside tfjs failed\n    at foo (bar.js:1:1)\n    at baz');
    expect(errorText(e)).toBe('Something inside tfjs failed at foo (bar.js:1:1) at baz');
    expect(errorText(new Error('x'.repeat(10_000))).length).toBeLessThan(600);
  });

  it('inspect and prune name the layers holding NaN or Inf weights; inspect --json lists them', async () => {
    const m = join(dir, 'nan');
    mkdirSync(m);
    copyFileSync(MODEL, join(m, 'model.json'));
    const shard = new Uint8Array(readFileSync(join(SAMPLE, 'group1-shard1of1.bin')));
    const floats = new Float32Array(shard.buffer, shard.byteOffset, 2);
    floats[0] = NaN; // the first weight of the manifest: conv1's kernel
    floats[1] = Infinity;
    writeFileSync(join(m, 'group1-shard1of1.bin'), shard);
    const r = await run('inspect', join(m, 'model.json'), '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^prunelab inspect: warning: .*NaN or Inf.*conv1 \(1 NaN, 1 Inf\)/);
    const s = JSON.parse(r.out) as { nonFinite: { layer: string; nan: number; inf: number }[] };
    expect(s.nonFinite).toEqual([{ layer: 'conv1', weight: 'conv1/kernel', nan: 1, inf: 1 }]);
    const p = await run('prune', join(m, 'model.json'), '--ratio', '0.3', '--out', join(dir, 'nan-out'));
    expect(p.code, p.err).toBe(0);
    expect(p.err).toContain('conv1');
    const healthy = await run('inspect', MODEL, '--json');
    expect(healthy.err).toBe('');
    expect((JSON.parse(healthy.out) as { nonFinite: unknown[] }).nonFinite).toEqual([]);
  });

  it('samples: an empty set and labels past the model’s outputs are BAD_SAMPLES for evaluate and data-based prune', async () => {
    const empty = join(dir, 'empty.plss');
    writeFileSync(
      empty,
      encodeSampleSet({
        count: 0,
        height: 28,
        width: 28,
        channels: 1,
        numClasses: 10,
        pixels: new Uint8Array(0),
        labels: new Uint8Array(0),
      }),
    );
    const labels = join(dir, 'labels.plss');
    writeFileSync(
      labels,
      encodeSampleSet({
        count: 2,
        height: 28,
        width: 28,
        channels: 1,
        numClasses: 20,
        pixels: new Uint8Array(2 * 784),
        labels: Uint8Array.of(3, 15),
      }),
    );
    for (const set of [empty, labels]) {
      const ev = await run('evaluate', MODEL, '--samples', set);
      expect(ev.code, ev.err).toBe(1);
      expect(ev.err).toContain('error [BAD_SAMPLES]');
      const p = await run(
        'prune',
        MODEL,
        '--criterion',
        'taylor',
        '--samples',
        set,
        '--out',
        join(dir, 'dp'),
      );
      expect(p.code, p.err).toBe(1);
      expect(p.err).toContain('error [BAD_SAMPLES]');
    }
    expect(existsSync(join(dir, 'dp'))).toBe(false);
  });
});
