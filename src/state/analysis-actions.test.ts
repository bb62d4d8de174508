import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { artifactsFromLayersModel } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { scoreGroups, scoreGroupsWithData } from '../core/scoring';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { getModel, getSampleSet } from './registry';
import { useWorkbench } from './store';
import { openFiles, setCriterion } from './actions';
import {
  TAYLOR_MODE,
  applyAutoPlan,
  applySuggestedRatios,
  cachedScoreCount,
  cancelJob,
  frameYielder,
  nextTask,
  previewAutoPlan,
  runSensitivity,
  setAutoPlan,
  setMaxDrop,
  setReduction,
  setSensitivitySettings,
} from './analysis-actions';

const get = useWorkbench.getState;
let modelFiles: { path: string; bytes: Uint8Array }[];

function sampleFile(name: string, n: number, seed: number) {
  const pixels = new Uint8Array(n * 64).map((_, i) => (i * 37 + seed * 101) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 3);
  return {
    path: name,
    bytes: encodeSampleSet({ count: n, height: 8, width: 8, channels: 1, numClasses: 3, pixels, labels }),
  };
}

function asArrays(s: Record<string, Float32Array>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Array.from(v)]));
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1', activation: 'relu' }),
  );
  m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2', activation: 'relu' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  modelFiles = writeTfjsModel(await artifactsFromLayersModel(m));
  m.dispose();
});

describe('analysis actions', () => {
  it('caches scores per model + criterion + reduction (+ sample set for data-based ones) and invalidates them', async () => {
    await openFiles(modelFiles, 'tiny');
    const session = get().session!;
    const { opened } = getModel(session.id);
    expect(get().scores).toEqual(asArrays(scoreGroups(opened.ir, opened.artifacts, opened.graph, 'l1')));
    const cached = cachedScoreCount();
    setCriterion('l2');
    expect(get().criterion).toBe('l2');
    expect(get().scores).toEqual(asArrays(scoreGroups(opened.ir, opened.artifacts, opened.graph, 'l2')));
    expect(cachedScoreCount()).toBe(cached + 1);
    setCriterion('l1');
    expect(cachedScoreCount()).toBe(cached + 1); // a hit
    setReduction('max');
    expect(cachedScoreCount()).toBe(cached + 2); // another key
    setReduction('sum');

    // A data-based criterion without a sample set: refused with a reason, nothing changes.
    setCriterion('apoz');
    expect(get().criterion).toBe('l1');
    expect(get().notice).toMatch(/sample set/);

    await openFiles([sampleFile('a.plss', 20, 1)]);
    const setA = get().sampleSet!.id;
    setCriterion('apoz');
    expect(get().jobs.scoring.status).toBe('running');
    expect(get().analysis.scoringCriterion).toBe('apoz');
    await vi.waitFor(() => expect(get().jobs.scoring.status).toBe('done'), { timeout: 20_000 });
    expect(get().criterion).toBe('apoz');
    const model = await loadLayersModelFromArtifacts(opened.artifacts);
    const direct = await scoreGroupsWithData(
      model,
      opened.ir,
      opened.artifacts,
      opened.graph,
      'apoz',
      getSampleSet(setA),
      {
        taylor: TAYLOR_MODE,
      },
    );
    model.dispose();
    expect(get().scores).toEqual(asArrays(direct));

    // Another sample set: the APoZ scores of set A are dropped, L1 is shown and APoZ recomputed.
    const before = cachedScoreCount();
    await openFiles([sampleFile('b.plss', 16, 2)]);
    expect(cachedScoreCount()).toBe(before - 1);
    expect(get().criterion).toBe('l1');
    expect(get().jobs.scoring.status).toBe('running');
    expect(get().analysis.scoringCriterion).toBe('apoz');
    cancelJob('scoring');
    await vi.waitFor(() => expect(get().jobs.scoring.status).toBe('cancelled'));
    expect(get().criterion).toBe('l1');
  });

  it('an automatic global plan states what it reaches, and applying it sets exactly that plan', async () => {
    await openFiles(modelFiles, 'tiny');
    setAutoPlan({ mode: 'global', kind: 'flops', percent: 50, maxRatioPercent: 100, roundTo: 1, ignore: [] });
    const { session, scores, analysis } = get();
    const preview = previewAutoPlan(session, scores, analysis.normalize, analysis.autoPlan);
    if (!preview || 'error' in preview) throw new Error('no preview');
    expect(preview.removed.flops).toBeGreaterThanOrEqual(0.5);
    applyAutoPlan();
    expect(get().plan).toEqual(preview.plan);
    const totals = getModel(session!.id).costModel.evaluate(get().plan);
    expect([totals.params, totals.flops]).toEqual([preview.reached.params, preview.reached.flops]);
    setAutoPlan({ mode: 'ratio', percent: 50, ignore: ['conv1'] });
    applyAutoPlan();
    expect(get().plan.remove).toEqual({ conv2: expect.any(Array) as unknown });
    expect(get().plan.remove.conv2).toHaveLength(2);
  });

  it('with a latency model, a global FLOPs plan is ranked for speed (and only then); applying it sets that plan', async () => {
    await openFiles(modelFiles, 'tiny');
    setAutoPlan({ mode: 'global', kind: 'flops', percent: 50, maxRatioPercent: 90, roundTo: 1, ignore: [] });
    // Fixed scores (the model's own come from a random init): conv1's a little above conv2's.
    useWorkbench.setState({
      scores: { conv1: [1.3, 1.35, 1.4, 1.45, 1.5, 1.55], conv2: [1, 1.1, 1.2, 1.3] },
    });
    const { session, analysis, scores } = get();
    const costs = getModel(session!.id).costModel;
    const removedOf = (p: { remove: Record<string, number[]> }, l: string) => p.remove[l]?.length ?? 0;
    // A device where conv1's filters cost 20x conv2's time: the plain ranking's cut is slow here.
    const predict = (p: { remove: Record<string, number[]> }) =>
      0.1 + 2 * (6 - removedOf(p, 'conv1')) + 0.05 * (4 - removedOf(p, 'conv2'));
    const latency = {
      baselineMs: predict({ remove: {} }),
      scale: 1,
      predict,
      groupCurve: () => undefined,
      groups: ['conv1', 'conv2'],
    };
    const plain = previewAutoPlan(session, scores, analysis.normalize, analysis.autoPlan);
    const fast = previewAutoPlan(session, scores, analysis.normalize, analysis.autoPlan, latency);
    if (!plain || 'error' in plain || !fast || 'error' in fast) throw new Error('no preview');
    expect(plain.speed).toBeUndefined();
    expect(fast.speed).toBeDefined();
    expect(fast.removed.flops).toBeGreaterThanOrEqual(0.5);
    const flopsRatio = fast.baseline.flops / costs.evaluate(fast.plan).flops;
    expect(fast.speed!.flopsRatio).toBeCloseTo(flopsRatio, 9);
    expect(fast.speed!.predictedSpeedup).toBeCloseTo(latency.baselineMs / predict(fast.plan), 9);
    // Here the plain plan (1.97x for FLOPs /2.2) falls short; weighting moves the cut to conv1.
    expect(fast.speed!.strength).toBeGreaterThan(0);
    expect(fast.speed!.realized).toBe(true);
    expect(fast.speed!.predictedSpeedup).toBeGreaterThanOrEqual(0.95 * flopsRatio - 1e-9);
    expect(fast.speed!.plainPredictedSpeedup).toBeLessThan(
      0.95 * (plain.baseline.flops / plain.reached.flops),
    );
    expect(removedOf(fast.plan, 'conv1')).toBeGreaterThan(removedOf(plain.plan, 'conv1'));
    applyAutoPlan(latency);
    expect(get().plan.remove).toEqual(fast.plan.remove);
    // Off, or another target kind: the plain ranking.
    setAutoPlan({ forSpeed: false });
    const off = previewAutoPlan(session, scores, analysis.normalize, get().analysis.autoPlan, latency);
    if (!off || 'error' in off) throw new Error('no preview');
    expect(off.speed).toBeUndefined();
    expect(off.plan.remove).toEqual(plain.plan.remove);
    setAutoPlan({ forSpeed: true, kind: 'params' });
    const params = previewAutoPlan(session, scores, analysis.normalize, get().analysis.autoPlan, latency);
    if (!params || 'error' in params) throw new Error('no preview');
    expect(params.speed).toBeUndefined();
  });

  it('a sensitivity run keeps its curves in the store and suggests a plan from them', async () => {
    await openFiles([...modelFiles, sampleFile('c.plss', 24, 3)], 'tiny');
    setSensitivitySettings({ criterion: 'l1', groups: 'all', ratios: [0.25, 0.5] });
    await runSensitivity();
    const sens = get().analysis.sensitivity;
    expect(get().jobs.sensitivity.status).toBe('done');
    expect(sens.result?.curves.map((c) => c.producer)).toEqual(['conv1', 'conv2']);
    expect(sens.partial).toHaveLength(2);
    setMaxDrop(100);
    applySuggestedRatios();
    expect(get().plan.remove.conv1).toHaveLength(3);
    expect(get().plan.remove.conv2).toHaveLength(2);
    // Cancel stops a run between evaluations and keeps what finished.
    const run = runSensitivity();
    cancelJob('sensitivity');
    await run;
    expect(get().jobs.sensitivity.status).toBe('cancelled');
  });
});

describe('frameYielder', () => {
  it("returns at once inside a slice; after it, 'task' waits for a turn of the event loop, not a microtask", async () => {
    // A chain of 1000 microtasks finishes before a task boundary; a microtask-only wait would
    // resume after the first few links.
    const chainOf = () => {
      const c = { n: 0 };
      const spin = () => {
        if (++c.n < 1000) void Promise.resolve().then(spin);
      };
      void Promise.resolve().then(spin);
      return c;
    };
    const inside = frameYielder(60_000, { wait: 'task' });
    const a = chainOf();
    await inside();
    expect(a.n).toBeLessThan(10);
    const after = frameYielder(0, { wait: 'task' });
    const b = chainOf();
    await after();
    expect(b.n).toBe(1000);
    const c = chainOf();
    await nextTask();
    expect(c.n).toBe(1000);
  });
});
