import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { evaluateModels } from '../core/evaluate/evaluate';
import { applyPlan } from '../core/surgery/apply-plan';
import { getModel, getSampleSource } from './registry';
import { useWorkbench } from './store';
import { openFiles, runPreview, toggleFilter } from './actions';
import { currentResults } from './plan-slice';

const get = useWorkbench.getState;
let files: { path: string; bytes: Uint8Array }[];

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1', activation: 'relu' }),
  );
  m.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, name: 'conv2', activation: 'relu' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  files = writeTfjsModel(await artifactsFromLayersModel(m));
  m.dispose();
  const n = 90;
  const pixels = new Uint8Array(n * 64).map((_, i) => (i * 53 + 7) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 5) % 3);
  files.push({
    path: 'set.plss',
    bytes: encodeSampleSet({ count: n, height: 8, width: 8, channels: 1, numClasses: 3, pixels, labels }),
  });
});

/** The figures computed directly, both models evaluated from scratch: the oracle. */
async function direct() {
  const { session, sampleSet, plan } = get();
  const { opened } = getModel(session!.id);
  const original = await loadLayersModelFromArtifacts(opened.artifacts);
  const pruned = await loadLayersModelFromArtifacts(
    applyPlan(opened.artifacts, plan, opened.ir, opened.graph).artifacts,
  );
  const r = await evaluateModels([original, pruned], getSampleSource(sampleSet!.id), { batchSize: 7 });
  original.dispose();
  pruned.dispose();
  return { original: r.accuracy[0], pruned: r.accuracy[1], agreement: r.agreement, samples: r.samples };
}

describe('preview', () => {
  it('equals evaluating both models from scratch, with the original computed once and the pruned model kept per plan', async () => {
    await openFiles(files, 'tiny');
    const tensors0 = tf.memory().numTensors;
    toggleFilter('conv1', 1);
    await runPreview();
    expect(currentResults(get())?.preview).toMatchObject(await direct());
    toggleFilter('conv2', 3);
    await runPreview(); // the original's outputs are reused here
    expect(currentResults(get())?.preview).toMatchObject(await direct());
    const kept = tf.memory().numTensors;
    await runPreview(); // same plan: the kept pruned model, no new tensors
    expect(tf.memory().numTensors).toBe(kept);
    toggleFilter('conv2', 3);
    await runPreview(); // another plan: the kept model is replaced, not added to
    expect(tf.memory().numTensors - tensors0).toBeLessThanOrEqual(kept - tensors0 + 2);
    expect(currentResults(get())?.preview).toMatchObject(await direct());
  });

  it('adds only the weights the plan changed: the pruned model is built on the original tensors', async () => {
    await openFiles(files, 'tiny');
    const buffers = () => (tf.memory() as unknown as { numDataBuffers: number }).numDataBuffers;
    toggleFilter('conv1', 1);
    await runPreview();
    const { session, plan } = get();
    const { opened, tfModel } = getModel(session!.id);
    const changed = applyPlan(opened.artifacts, plan, opened.ir, opened.graph).artifacts.weights.filter(
      (w, i) => w.values !== opened.artifacts.weights[i]!.values,
    );
    expect(changed.map((w) => w.name).sort()).toEqual(['conv1/bias', 'conv1/kernel', 'conv2/kernel']);
    // Another plan: the kept pruned model is replaced; live data = the original's + the changed weights.
    const withOriginal = buffers();
    toggleFilter('conv2', 0);
    await runPreview();
    const nowChanged = applyPlan(
      opened.artifacts,
      get().plan,
      opened.ir,
      opened.graph,
    ).artifacts.weights.filter((w, i) => w.values !== opened.artifacts.weights[i]!.values);
    expect(nowChanged.length).toBe(5); // conv1 kernel+bias, conv2 kernel+bias, out kernel
    expect(buffers() - withOriginal).toBe(nowChanged.length - changed.length);
    expect(tfModel).toBe(getModel(session!.id).tfModel);
    expect(plan).not.toBe(get().plan);
    // Previewing another plan still gives the figures of both models from scratch.
    toggleFilter('conv2', 0);
    await runPreview();
    expect(currentResults(get())?.preview).toMatchObject(await direct());
  });
});
