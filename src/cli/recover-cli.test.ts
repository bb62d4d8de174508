import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSampleSet } from '../core/evaluate/sample-set';
import { runCli as run } from './run-cli';

const SAMPLES = join(import.meta.dirname, '..', '..', 'public', 'samples');
const MODEL = join(SAMPLES, 'mnist-cnn', 'model.json');
const PLSS = join(SAMPLES, 'mnist-heldout.plss');

let dir: string;
let images: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'prunelab-recover-'));
  images = join(dir, 'digits');
  // 60 bundled digits as grayscale PNGs in class folders 0..9, plus one unreadable "image".
  const set = parseSampleSet(new Uint8Array(readFileSync(PLSS)), 'mnist-heldout.plss');
  const per = set.height * set.width;
  for (let i = 0; i < 60; i++) {
    const label = set.labels![i]!;
    const png = new PNG({ width: set.width, height: set.height });
    for (let p = 0; p < per; p++) {
      const v = set.pixels[i * per + p]!;
      png.data[4 * p] = v;
      png.data[4 * p + 1] = v;
      png.data[4 * p + 2] = v;
      png.data[4 * p + 3] = 255;
    }
    mkdirSync(join(images, String(label)), { recursive: true });
    writeFileSync(join(images, String(label), `d${i}.png`), PNG.sync.write(png));
  }
  writeFileSync(join(images, '3', 'broken.png'), new Uint8Array([1, 2, 3, 4]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prunelab evaluate with an image folder', () => {
  it('reads class folders, skips the broken file, and matches the .plss accuracy', async () => {
    const img = await run('evaluate', MODEL, '--samples', images, '--json');
    expect(img.err).toBe('');
    expect(img.code).toBe(0);
    const r = JSON.parse(img.out) as { accuracy: number; samples: number; skipped: { path: string }[] };
    expect(r.samples).toBe(60);
    expect(r.skipped.map((s) => s.path)).toEqual(['3/broken.png']);
    expect(r.accuracy).toBeGreaterThan(0.9);
  });

  it('still reads .plss sets', async () => {
    const plss = await run('evaluate', MODEL, '--samples', PLSS, '--json');
    expect(plss.code).toBe(0);
    expect((JSON.parse(plss.out) as { samples: number }).samples).toBe(2000);
  });
});

describe('prunelab finetune', () => {
  it('recovers a pruned model with distillation and keeps the provenance', async () => {
    const pruned = join(dir, 'pruned');
    const p = await run('prune', MODEL, '--ratio', '0.5', '--out', pruned);
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    const out = join(dir, 'recovered');
    const f = await run(
      'finetune',
      join(pruned, 'model.json'),
      '--samples',
      images,
      '--teacher',
      MODEL,
      '--epochs',
      '1',
      '--batch-size',
      '16',
      '--out',
      out,
      '--json',
    );
    expect(f.err).toBe('');
    expect(f.code).toBe(0);
    const r = JSON.parse(f.out) as {
      accuracyBefore: number;
      accuracyAfter: number;
      klAfter: number;
      trainSamples: number;
      valSamples: number;
    };
    expect(r.trainSamples + r.valSamples).toBe(60);
    expect(r.valSamples).toBe(12);
    expect(r.accuracyAfter).toBeGreaterThanOrEqual(r.accuracyBefore);
    expect(r.klAfter).toBeGreaterThanOrEqual(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { prunelab: { finetune: { epochs: number; distillation: unknown }[] } };
    };
    const history = json.userDefinedMetadata.prunelab.finetune;
    expect(history).toHaveLength(1);
    expect(history[0]!.epochs).toBe(1);
    expect(history[0]!.distillation).not.toBeNull();
    // The recovered model opens and evaluates.
    const ev = await run('evaluate', join(out, 'model.json'), '--samples', images, '--json');
    expect(ev.code).toBe(0);
  }, 120_000);

  it('refuses missing flags with usage errors', async () => {
    const r = await run('finetune', MODEL, '--samples', images);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out/);
  });
});
