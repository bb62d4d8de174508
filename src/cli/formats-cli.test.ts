import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { openModelFiles } from '../core/io/open-model';
import { buildModelIR } from '../core/ir/build-ir';
import { modelFingerprint } from '../core/io/fingerprint';
import { runCli as run } from './run-cli';

let dir: string;
let modelJson: string;
let fingerprint: string;

function read(path: string) {
  return [{ path, bytes: new Uint8Array(readFileSync(path)) }];
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'prunelab-fmt-'));
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1' }));
  m.add(tf.layers.batchNormalization({ name: 'bn1' }));
  m.add(tf.layers.reLU({ name: 'relu1' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, name: 'out' }));
  const a = await artifactsFromLayersModel(m);
  fingerprint = modelFingerprint(buildModelIR(a));
  m.dispose();
  mkdirSync(join(dir, 'model'));
  for (const f of writeTfjsModel(a)) writeFileSync(join(dir, 'model', f.path), f.bytes);
  modelJson = join(dir, 'model', 'model.json');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prunelab prune --format / --quantize / fingerprinted plans', () => {
  it('writes .keras and .h5 files that open again with the same pruned weights', async () => {
    const ref = join(dir, 'ref');
    expect((await run('prune', modelJson, '--ratio', '0.5', '--out', ref)).code).toBe(0);
    const json = JSON.parse(readFileSync(join(ref, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const expected = await openModelFiles(
      ['model.json', ...json.weightsManifest.flatMap((g) => g.paths)].map((p) => ({
        path: p,
        bytes: new Uint8Array(readFileSync(join(ref, p))),
      })),
    );
    for (const [format, file] of [
      ['keras', 'pruned.keras'],
      ['h5', 'pruned.h5'],
    ] as const) {
      const out = join(dir, file);
      const r = await run('prune', modelJson, '--ratio', '0.5', '--format', format, '--out', out, '--json');
      expect(r.code, r.err).toBe(0);
      const a = await openModelFiles(read(out));
      const kernel = a.weights.find((w) => w.name === 'conv1/kernel');
      expect(kernel?.shape).toEqual([3, 3, 1, 3]);
      expect(Array.from(kernel!.values)).toEqual(
        Array.from(expected.weights.find((w) => w.name === 'conv1/kernel')!.values),
      );
      expect((a.userDefinedMetadata?.prunelab as { plan: unknown } | undefined)?.plan).toBeTruthy();
      const model = await loadLayersModelFromArtifacts(a);
      expect(model.layers.map((l) => l.name)).toEqual(
        expect.arrayContaining(['conv1', 'bn1', 'relu1', 'flatten', 'out']),
      );
      model.dispose();
    }
  });

  it('--quantize uint8 writes a smaller TF.js model that loads within the quantization error', async () => {
    const out = join(dir, 'q8');
    const r = await run('prune', modelJson, '--ratio', '0.5', '--quantize', 'uint8', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[]; weights: { quantization?: { dtype: string } }[] }[];
    };
    expect(json.weightsManifest[0]!.weights.every((w) => w.quantization?.dtype === 'uint8')).toBe(true);
    const bytes = json.weightsManifest
      .flatMap((g) => g.paths)
      .reduce((n, p) => n + readFileSync(join(out, p)).length, 0);
    const plain = JSON.parse(
      (await run('prune', modelJson, '--ratio', '0.5', '--out', join(dir, 'q0'), '--json')).out,
    ) as {
      bytes: { after: number };
    };
    expect(bytes).toBeLessThanOrEqual(
      Math.ceil(plain.bytes.after / 4) + 8 * json.weightsManifest[0]!.weights.length,
    );
    expect(
      (
        await run(
          'prune',
          modelJson,
          '--quantize',
          'uint8',
          '--format',
          'keras',
          '--out',
          join(dir, 'x.keras'),
        )
      ).code,
    ).toBe(2);
    expect((await run('prune', modelJson, '--format', 'savedmodel', '--out', join(dir, 'x'))).code).toBe(2);
  });

  it('refuses a saved plan made for another model, naming both fingerprints', async () => {
    const planPath = join(dir, 'plan.json');
    writeFileSync(
      planPath,
      JSON.stringify({ version: 1, remove: { conv1: [0] }, model: { fingerprint, name: 'm' } }),
    );
    expect((await run('prune', modelJson, '--plan', planPath, '--out', join(dir, 'ok'))).code).toBe(0);
    writeFileSync(
      planPath,
      JSON.stringify({
        version: 1,
        remove: { conv1: [0] },
        model: { fingerprint: '0123456789abcdef', name: 'other' },
      }),
    );
    const r = await run('prune', modelJson, '--plan', planPath, '--out', join(dir, 'no'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('0123456789abcdef');
    expect(r.err).toContain(fingerprint);
  });
});
