/**
 * Hooks for `npm run bench:ui`, installed only with `?bench` in the URL: they time, inside the page
 * and on the app's own tfjs and backend, the preview against plain `model.predict` of the same
 * models over the same batches, so the two can be alternated in one run.
 */
import * as tf from '@tensorflow/tfjs';
import { batchSizeFor } from '../core/evaluate/evaluate';
import { getModel, getSampleSource } from './registry';
import { useWorkbench } from './store';
import { keptPreviewModel, runPreview } from './actions';

export interface BenchHooks {
  /** Runs the accuracy preview of the plan on screen; returns its ms. */
  preview(): Promise<number>;
  /** Plain predict of the pruned model (the last preview's) and optionally the original, in the preview's batches; ms. */
  plainPredict(which: 'pruned' | 'both'): Promise<number>;
  /** tfjs's tensor memory now. */
  memory(): { numBytes: number; numTensors: number };
}

async function plainPredict(which: 'pruned' | 'both'): Promise<number> {
  const { session, sampleSet } = useWorkbench.getState();
  if (!session || !sampleSet) throw new Error('Open the sample first.');
  const pruned = keptPreviewModel();
  const original = getModel(session.id).tfModel;
  if (!pruned || !original) throw new Error('Preview once first: plain predict runs the same models.');
  const models: tf.LayersModel[] = which === 'both' ? [original, pruned] : [pruned];
  const source = getSampleSource(sampleSet.id);
  const t0 = performance.now();
  const batch = batchSizeFor(session.ir.layers);
  for (let start = 0; start < source.count; start += batch) {
    const x = source.batch(start, Math.min(source.count, start + batch));
    for (const m of models) {
      const y = m.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
    }
    x.dispose();
  }
  return performance.now() - t0;
}

/** Installs `window.__prunelabBench` when the URL asks for it. */
export function installBenchHooks(): void {
  if (typeof location === 'undefined' || !new URLSearchParams(location.search).has('bench')) return;
  const hooks: BenchHooks = {
    preview: async () => {
      const t0 = performance.now();
      await runPreview();
      return performance.now() - t0;
    },
    plainPredict,
    memory: () => {
      const m = tf.memory();
      return { numBytes: m.numBytes, numTensors: m.numTensors };
    },
  };
  (globalThis as unknown as { __prunelabBench: BenchHooks }).__prunelabBench = hooks;
}
