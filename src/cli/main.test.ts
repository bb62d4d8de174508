import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from './main';
import { artifactsFromLayersModel } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { openModelFiles } from '../core/io/open-model';

let dir: string;
let modelJson: string;
let samples: string;
let originalParams = 0;

/** Runs the CLI in-process and captures stdout, stderr and the exit code. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main([...argv, '--backend', 'cpu']);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'prunelab-cli-'));
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1' }));
  m.add(tf.layers.batchNormalization({ name: 'bn1' }));
  m.add(tf.layers.reLU({ name: 'relu1' }));
  m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  originalParams = m.countParams();
  const files = writeTfjsModel(await artifactsFromLayersModel(m));
  mkdirSync(join(dir, 'model'));
  for (const f of files) writeFileSync(join(dir, 'model', f.path), f.bytes);
  modelJson = join(dir, 'model', 'model.json');
  // A labelled sample set whose labels are the model's own predictions: accuracy must be exactly 1.
  const n = 20;
  const pixels = new Uint8Array(n * 64).map((_, i) => (i * 37) % 256);
  const x = tf.tensor4d(
    Float32Array.from(pixels, (p) => p / 255),
    [n, 8, 8, 1],
  );
  const y = m.predict(x) as tf.Tensor;
  const labels = Uint8Array.from(await y.argMax(-1).data());
  tf.dispose([x, y]);
  m.dispose();
  samples = join(dir, 'set.plss');
  writeFileSync(
    samples,
    encodeSampleSet({ count: n, height: 8, width: 8, channels: 1, numClasses: 3, pixels, labels }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prunelab CLI', () => {
  it('--help documents every command', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const c of [
      'inspect',
      'prune',
      'evaluate',
      '--criterion',
      '--ratio',
      '--plan',
      '--samples',
      '--json',
    ]) {
      expect(r.out).toContain(c);
    }
  });

  it('inspect --json lists layers, groups and totals', async () => {
    const r = await run('inspect', modelJson, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as {
      layers: { name: string }[];
      groups: { producer: string; prunable: boolean; reason?: string }[];
      totals: { params: number };
    };
    expect(s.layers.map((l) => l.name)).toEqual(['conv1', 'bn1', 'relu1', 'conv2', 'flatten', 'out']);
    expect(s.totals.params).toBe(originalParams);
    expect(s.groups.find((g) => g.producer === 'conv1')?.prunable).toBe(true);
    expect(s.groups.find((g) => g.producer === 'out')?.prunable).toBe(false);
  });

  it('prune --ratio writes a smaller model with provenance that evaluates', async () => {
    const out = join(dir, 'pruned');
    const r = await run('prune', modelJson, '--criterion', 'l2', '--ratio', '0.5', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as { removed: number; params: { before: number; after: number } };
    expect(summary.removed).toBe(3 + 2); // floor(0.5*6) of conv1, floor(0.5*4) of conv2
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const files = ['model.json', ...json.weightsManifest.flatMap((g) => g.paths)].map((p) => ({
      path: p,
      bytes: new Uint8Array(readFileSync(join(out, p))),
    }));
    const a = await openModelFiles(files);
    expect(a.weights.find((w) => w.name === 'conv1/kernel')?.shape).toEqual([3, 3, 1, 3]);
    expect(a.weights.find((w) => w.name === 'out/kernel')?.shape).toEqual([4 * 4 * 2, 3]);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory((await import('../core/io/tf-artifacts')).toTfArtifacts(a)),
    );
    expect(model.countParams()).toBe(summary.params.after);
    model.dispose();
    const rec = a.userDefinedMetadata?.prunelab as { plan: { remove: Record<string, number[]> } };
    expect(rec.plan.remove.conv1).toHaveLength(3);

    const ev = await run('evaluate', join(out, 'model.json'), '--samples', samples, '--json');
    expect(ev.code, ev.err).toBe(0);
    const acc = JSON.parse(ev.out) as { accuracy: number; samples: number };
    expect(acc.samples).toBe(20);
    expect(acc.accuracy).toBeGreaterThanOrEqual(0);
    expect(acc.accuracy).toBeLessThanOrEqual(1);
  });

  it('prune --plan applies a plan file exactly, and rejects one that does not fit', async () => {
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify({ version: 1, remove: { conv2: [0, 3] } }));
    const out = join(dir, 'planned');
    const r = await run('prune', modelJson, '--plan', planPath, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { prunelab: { kept: Record<string, { outputChannels?: number[] }> } };
    };
    expect(saved.userDefinedMetadata.prunelab.kept.conv2?.outputChannels).toEqual([1, 2]);

    writeFileSync(planPath, JSON.stringify({ version: 1, remove: { conv2: [0, 1, 2, 3] } }));
    const bad = await run('prune', modelJson, '--plan', planPath, '--out', out);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('conv2');
  });

  it('evaluate --json reports accuracy 1 when labels are the model’s own predictions', async () => {
    const r = await run('evaluate', modelJson, '--samples', samples, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ accuracy: 1, samples: 20 });
  });

  it('errors go to stderr with a non-zero exit code', async () => {
    const missing = await run('inspect', join(dir, 'nope.json'));
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('nope.json');
    const noShard = join(dir, 'lonely');
    mkdirSync(noShard);
    writeFileSync(join(noShard, 'model.json'), readFileSync(modelJson));
    const r = await run('inspect', join(noShard, 'model.json'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('group1-shard1of1.bin');
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('prune', modelJson)).code).toBe(2);
  });
});
