import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateModels } from '../src/core/evaluate/evaluate';
import { encodeSampleSet, parseSampleSet, type SampleSet } from '../src/core/evaluate/sample-set';
import { initNodeBackend } from '../src/node/tf-node';
import { HELD_OUT_PATH, MIN_HELD_OUT_ACCURACY, MODEL_DIR, sampleHashes, splitMnist } from './make-sample';

/** Serves files under MODEL_DIR to tf.io.http, so the model loads exactly as a browser would fetch it. */
function fetchFromDisk(input: RequestInfo | URL): Promise<Response> {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const file = join(MODEL_DIR, decodeURIComponent(url.pathname.replace(/^\/mnist-cnn\//, '')));
  return Promise.resolve(new Response(readFileSync(file)));
}

describe('bundled sample (public/samples)', () => {
  let model: tf.LayersModel;
  let heldOut: SampleSet;
  let heldOutBytes: Uint8Array;

  beforeAll(async () => {
    await initNodeBackend('wasm');
    model = await tf.loadLayersModel(
      tf.io.http('http://samples.local/mnist-cnn/model.json', { fetchFunc: fetchFromDisk }),
    );
    heldOutBytes = new Uint8Array(readFileSync(HELD_OUT_PATH));
    heldOut = parseSampleSet(heldOutBytes, 'mnist-heldout.plss');
  });

  afterAll(() => model?.dispose());

  it('model.json is a standard layers model with readable layer names and its metadata', () => {
    const json = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')) as {
      format: string;
      weightsManifest: { paths: string[] }[];
      userDefinedMetadata: { prunelab_sample: { heldOutAccuracy: number; seed: number; trainedOn: string } };
    };
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest.map((g) => g.paths)).toEqual([['group1-shard1of1.bin']]);
    expect(json.userDefinedMetadata.prunelab_sample.trainedOn).toMatch(/mnist/);
    expect(model.layers.map((l) => l.name)).toEqual([
      'conv1',
      'bn1',
      'relu1',
      'pool1',
      'conv2',
      'bn2',
      'relu2',
      'pool2',
      'flatten',
      'dense1',
      'dense_out',
    ]);
    expect(model.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
  });

  it('held-out set has at least 1,000 labelled 28x28x1 digits', () => {
    expect(heldOut.count).toBeGreaterThanOrEqual(1000);
    expect(heldOut.labels).not.toBeNull();
    expect([heldOut.height, heldOut.width, heldOut.channels, heldOut.numClasses]).toEqual([28, 28, 1, 10]);
    const perClass = new Array<number>(10).fill(0);
    for (const l of heldOut.labels!) perClass[l]!++;
    expect(Math.min(...perClass)).toBeGreaterThan(heldOut.count / 20); // every digit is represented
  });

  it(`scores >= ${MIN_HELD_OUT_ACCURACY * 100}% on it (wasm), as the metadata says`, async () => {
    const json = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { prunelab_sample: { heldOutAccuracy: number } };
    };
    const before = tf.memory().numTensors;
    const result = await evaluateModels([model], heldOut, { batchSize: 250 });
    expect(tf.memory().numTensors).toBe(before);
    const accuracy = result.accuracy[0]!;
    expect(accuracy).toBeGreaterThanOrEqual(MIN_HELD_OUT_ACCURACY);
    // Same weights, same backend: the recorded figure is reproduced (it is stored rounded to 4 places).
    expect(Math.abs(accuracy - json.userDefinedMetadata.prunelab_sample.heldOutAccuracy)).toBeLessThanOrEqual(
      6e-4,
    );
  });

  it('is the seeded split, and no held-out digit equals a training digit', () => {
    const { train, heldOut: recomputed } = splitMnist();
    // Byte equality via Buffer: vitest's deep equality over 1.5 MB is slow.
    expect(Buffer.from(encodeSampleSet(recomputed)).equals(heldOutBytes)).toBe(true);
    const trainHashes = new Set(sampleHashes(train));
    const shared = sampleHashes(heldOut).filter((h) => trainHashes.has(h));
    expect(shared).toEqual([]);
    expect(train.count + heldOut.count).toBe(10000);
  });
});
