import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import { applyPlan } from '../surgery/apply-plan';
import { randomizeWeights } from '../testing/random-cnn';
import { ZOO } from '../testing/zoo';
import { writeTfjsModel } from './export-tfjs';
import { fnv1a64, modelFingerprint } from './fingerprint';
import { writeKerasH5 } from './keras-h5';
import { writeKerasV3 } from './keras-v3';
import { openModelFiles } from './open-model';
import { artifactsFromLayersModel } from './tf-artifacts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function zoo(name: string): Promise<ModelArtifactsData> {
  const model = ZOO[name]!();
  try {
    return randomizeWeights(await artifactsFromLayersModel(model), 1);
  } finally {
    model.dispose();
  }
}

describe('fnv1a64', () => {
  it('matches the published 64-bit FNV-1a test vectors', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
  });
});

describe('modelFingerprint', () => {
  it('is the same for a model in every format, from artifacts or IR, whatever its weight values', async () => {
    for (const name of ['resnet', 'transfer-nested']) {
      const a = await zoo(name);
      const fp = modelFingerprint(a);
      expect(fp).toMatch(/^[0-9a-f]{16}$/);
      expect(modelFingerprint(buildModelIR(a))).toBe(fp);
      expect(modelFingerprint(randomizeWeights(a, 99))).toBe(fp);
      expect(modelFingerprint(await openModelFiles(writeTfjsModel(a)))).toBe(fp);
      expect(
        modelFingerprint(await openModelFiles([{ path: 'm.keras', bytes: await writeKerasV3(a) }])),
      ).toBe(fp);
      expect(modelFingerprint(await openModelFiles([{ path: 'm.h5', bytes: await writeKerasH5(a) }]))).toBe(
        fp,
      );
    }
  });

  it('changes when a channel is pruned or a layer renamed, and differs between models', async () => {
    const a = await zoo('resnet');
    const fp = modelFingerprint(a);
    expect(modelFingerprint(applyPlan(a, { version: 1, remove: { b1_c1: [0] } }).artifacts)).not.toBe(fp);
    const renamed = structuredClone(a);
    const layers = (renamed.modelTopology.config as { layers: { config: { name: string } }[] }).layers;
    const gap = layers.find((l) => l.config.name === 'gap')!;
    gap.config.name = 'pool';
    const json = JSON.stringify(renamed.modelTopology).replaceAll('"gap"', '"pool"');
    renamed.modelTopology = JSON.parse(json) as ModelArtifactsData['modelTopology'];
    expect(modelFingerprint(renamed)).not.toBe(fp);
    expect(modelFingerprint(await zoo('mobilenetv2'))).not.toBe(fp);
  });
});
