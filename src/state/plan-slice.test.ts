import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { planKey } from '../core/plan/key';
import { getModel, getRecovered } from './registry';
import { useWorkbench } from './store';
import { clearSelection, openFiles, runPreview, selectLowestFraction, toggleFilter } from './actions';
import { commitPlan, currentResults, jumpToPlanStep, redoPlan, undoPlan } from './plan-slice';
import { FINE_TUNE_LOCK, runFineTune, runReestimateBatchNorm, stopFineTune } from './recover-actions';
import { currentPrunedArtifacts } from './export-actions';
import { runJob } from './jobs';

const get = useWorkbench.getState;
let modelFiles: { path: string; bytes: Uint8Array }[];

function sampleFile(n: number) {
  const pixels = new Uint8Array(n * 64).map((_, i) => (i * 37 + 11) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 3);
  return {
    path: 'set.plss',
    bytes: encodeSampleSet({ count: n, height: 8, width: 8, channels: 1, numClasses: 3, pixels, labels }),
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1', activation: 'relu' }),
  );
  m.add(tf.layers.batchNormalization({ name: 'bn1' }));
  m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2', activation: 'relu' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  modelFiles = writeTfjsModel(await artifactsFromLayersModel(m));
  m.dispose();
});

const counts = () => Object.values(get().plan.remove).reduce((n, v) => n + v.length, 0);

describe('the plan slice', () => {
  it('records every change as a named step; undo, redo and jumps give back each plan and its totals', async () => {
    await openFiles(modelFiles, 'tiny');
    const cost = getModel(get().session!.id).costModel;
    const seen: { n: number; params: number }[] = [{ n: 0, params: cost.evaluate(get().plan).params }];
    toggleFilter('conv1', 1);
    seen.push({ n: counts(), params: cost.evaluate(get().plan).params });
    toggleFilter('conv1', 4);
    seen.push({ n: counts(), params: cost.evaluate(get().plan).params });
    selectLowestFraction(0.5);
    seen.push({ n: counts(), params: cost.evaluate(get().plan).params });
    expect(get().history.steps.map((s) => s.label)).toEqual([
      'open tiny',
      'tick conv1 #1',
      'tick conv1 #4',
      'lowest 50% in all layers',
    ]);
    expect(seen.map((s) => s.n)).toEqual([0, 1, 2, 5]);
    for (let i = 2; i >= 0; i--) {
      expect(undoPlan()).toBe(true);
      expect(counts()).toBe(seen[i]!.n);
      expect(cost.evaluate(get().plan).params).toBe(seen[i]!.params);
    }
    expect(undoPlan()).toBe(false);
    redoPlan();
    expect(get().plan.remove).toEqual({ conv1: [1] });
    expect(get().planKey).toBe(planKey(get().plan));
    jumpToPlanStep(3);
    expect(counts()).toBe(5);
    // A commit after going back drops the steps after it.
    jumpToPlanStep(1);
    clearSelection();
    expect(get().history.steps.map((s) => s.label)).toEqual(['open tiny', 'tick conv1 #1', 'clear all']);
    // A shift-click range is one step.
    toggleFilter('conv1', 0);
    toggleFilter('conv1', 3, true);
    expect(get().history.steps.at(-1)!.label).toBe('tick conv1 #0–#3');
    expect(get().plan.remove.conv1).toEqual([0, 1, 2, 3]);
  });

  it('files results under the plan key: undo brings back what was measured for that plan', async () => {
    await openFiles([...modelFiles, sampleFile(24)], 'tiny');
    toggleFilter('conv1', 2);
    await runPreview();
    const first = currentResults(get())?.preview;
    expect(first?.samples).toBe(24);
    toggleFilter('conv2', 0);
    expect(currentResults(get())?.preview).toBeUndefined();
    undoPlan();
    expect(currentResults(get())?.preview).toEqual(first);
    // Unticking and re-ticking gives the same key, so the same results.
    toggleFilter('conv1', 2);
    toggleFilter('conv1', 2);
    expect(currentResults(get())?.preview).toEqual(first);
  });

  it('locks the plan while fine-tuning runs and keeps the fine-tuned weights with their plan', async () => {
    await openFiles([...modelFiles, sampleFile(40)], 'tiny');
    useWorkbench.setState((s) => ({
      recover: { ...s.recover, settings: { ...s.recover.settings, epochs: 1, batchSize: 8 } },
    }));
    toggleFilter('conv1', 5);
    const key = get().planKey;
    const run = runFineTune();
    expect(get().planLock).toBe(FINE_TUNE_LOCK);
    toggleFilter('conv1', 0);
    expect(get().plan.remove).toEqual({ conv1: [5] });
    expect(get().notice).toBe(FINE_TUNE_LOCK);
    expect(undoPlan()).toBe(false);
    await run;
    expect(get().planLock).toBeNull();
    expect(get().jobs.finetune.status).toBe('done');
    const tuned = getRecovered(get().session!.id, key)!;
    expect(tuned).toBeDefined();
    toggleFilter('conv1', 5); // untick
    expect(currentPrunedArtifacts().artifacts).not.toBe(tuned);
    toggleFilter('conv1', 5); // re-tick: the same plan, the fine-tuned weights again
    expect(currentPrunedArtifacts().artifacts).toBe(tuned);
    expect(currentResults(get())?.recovered).toEqual(['fine-tuned 1 epoch']);
    // Stop keeps the best weights; the lock is released either way.
    const again = runFineTune();
    stopFineTune();
    await again;
    expect(get().planLock).toBeNull();
  });

  it('cancels BatchNorm re-estimation and keeps the weights as they were', async () => {
    await openFiles([...modelFiles, sampleFile(200)], 'tiny');
    toggleFilter('conv1', 3);
    const run = runReestimateBatchNorm();
    expect(get().jobs.bn.status).toBe('running');
    useWorkbench.getState(); // the job is on its first await
    const { cancelJob } = await import('./jobs');
    cancelJob('bn');
    await run;
    expect(get().jobs.bn.status).toBe('cancelled');
    expect(getRecovered(get().session!.id, get().planKey)).toBeUndefined();
    expect(currentResults(get())?.bn).toBeUndefined();
  });

  it('one job runner: a second job of a kind is refused, a replacing one wins, errors are kept', async () => {
    let release!: () => void;
    const first = runJob('export', () => new Promise<number>((r) => (release = () => r(1))));
    expect(await runJob('export', () => Promise.resolve(2))).toBeUndefined();
    release();
    expect(await first).toBe(1);
    expect(get().jobs.export.status).toBe('done');
    expect(await runJob('export', () => Promise.reject(new Error('disk full')))).toBeUndefined();
    expect(get().jobs.export).toMatchObject({ status: 'error', error: 'disk full' });
    commitPlan({ version: 1, remove: {} }, 'noop');
  });
});
