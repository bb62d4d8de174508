import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import { applyPlan, readProvenance } from '../surgery/apply-plan';
import {
  artifactsAfterFineTune,
  fineTuneRecord,
  readFineTuneHistory,
  type FineTuneRecord,
} from './artifacts';
import type { FineTuneResult } from './fine-tune';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function original(): tf.Sequential {
  return tf.sequential({
    name: 'net',
    layers: [
      tf.layers.conv2d({
        inputShape: [4, 4, 1],
        filters: 4,
        kernelSize: 3,
        name: 'conv1',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.batchNormalization({ name: 'bn1' }),
      tf.layers.flatten({ name: 'flat' }),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        name: 'out',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
    ],
  });
}

const record = (accuracyAfter: number): FineTuneRecord => ({
  epochs: 3,
  bestEpoch: 2,
  batchSize: 32,
  learningRate: 0.001,
  optimizer: 'adam',
  batchNorm: 'batch-stats',
  distillation: { temperature: 4, alpha: 0.5 },
  trainSamples: 1500,
  valSamples: 500,
  accuracyBefore: 0.5,
  accuracyAfter,
  klBefore: 0.3,
  klAfter: 0.1,
  stopped: false,
});

describe('artifactsAfterFineTune', () => {
  it('keeps topology, weight order and provenance; takes the trained values; appends the record', async () => {
    const m = original();
    const base = await artifactsFromLayersModel(m);
    base.userDefinedMetadata = { other: { keep: true } };
    const pruned = applyPlan(base, { version: 1, remove: { conv1: [1, 3] } }).artifacts;
    expect(readProvenance(pruned)).toBeDefined();
    const student = await loadLayersModelFromArtifacts(pruned);
    // "Train": change every weight.
    for (const layer of student.layers) layer.setWeights(layer.getWeights().map((w) => tf.add(w, 0.5)));

    const out = await artifactsAfterFineTune(pruned, student, record(0.9));
    expect(out.modelTopology).toEqual(pruned.modelTopology);
    expect(out.weights.map((w) => [w.name, w.shape])).toEqual(pruned.weights.map((w) => [w.name, w.shape]));
    out.weights.forEach((w, i) => expect(w.values[0]).toBeCloseTo(pruned.weights[i]!.values[0]! + 0.5, 5));
    const prov = readProvenance(out)!;
    expect(prov.plan).toEqual(readProvenance(pruned)!.plan);
    expect(prov.kept).toEqual(readProvenance(pruned)!.kept);
    expect(out.userDefinedMetadata!['other']).toEqual({ keep: true });
    expect(readFineTuneHistory(out)).toEqual([record(0.9)]);
    // The input is untouched, and a second fine-tuning appends.
    expect(readFineTuneHistory(pruned)).toEqual([]);
    const again = await artifactsAfterFineTune(out, student, record(0.95));
    expect(readFineTuneHistory(again).map((r) => r.accuracyAfter)).toEqual([0.9, 0.95]);

    // It loads and computes what the trained model computes.
    const reloaded = await loadLayersModelFromArtifacts(again);
    const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 3);
    const [a, b] = [student.predict(x) as tf.Tensor, reloaded.predict(x) as tf.Tensor];
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([x, a, b]);
    for (const model of [m, student, reloaded]) model.dispose();
  });

  it('a model that was never pruned records under prunelab_finetune', async () => {
    const m = original();
    const a = await artifactsFromLayersModel(m);
    const out = await artifactsAfterFineTune(a, m, record(0.8));
    expect(out.userDefinedMetadata!['prunelab']).toBeUndefined();
    expect(readFineTuneHistory(out)).toEqual([record(0.8)]);
    expect((await artifactsAfterFineTune(a, m)).userDefinedMetadata).toBeUndefined();
    m.dispose();
  });

  it('fineTuneRecord reads a result', () => {
    const result = {
      history: [{}, {}],
      bestEpoch: 1,
      learningRate: 0.01,
      optimizer: 'sgd',
      batchNorm: 'frozen',
      alpha: 0,
      temperature: 4,
      before: { accuracy: 0.2, agreement: null, kl: null },
      after: { accuracy: 0.7, agreement: null, kl: null },
      stopped: false,
    } as unknown as FineTuneResult;
    expect(
      fineTuneRecord(result, { epochs: 3, batchSize: 16, trainSamples: 10, valSamples: 5 }),
    ).toMatchObject({
      epochs: 2,
      distillation: null,
      accuracyBefore: 0.2,
      accuracyAfter: 0.7,
      stopped: true,
    });
  });
});
