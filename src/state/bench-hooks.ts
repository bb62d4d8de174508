/**
 * Hooks for `npm run bench:ui`, installed only with `?bench` in the URL: they time, inside the page
 * and on the app's own tfjs and backend, the preview against plain `model.predict` of the same
 * models over the same batches, so the two can be alternated in one run.
 */
import * as tf from '@tensorflow/tfjs';
import { batchSizeFor } from '../core/evaluate/evaluate';
import { loadLayersModelFromArtifacts, toTfArtifacts } from '../core/io/tf-artifacts';
import { getModel, getSampleSource } from './registry';
import { useWorkbench } from './store';
import { keptPreviewModel, runPreview } from './actions';
import { whenSaved } from './persist';

export interface BenchHooks {
  /** Runs the accuracy preview of the plan on screen; returns its ms. */
  preview(): Promise<number>;
  /** Plain predict of the pruned model (the last preview's) and optionally the original, in the preview's batches; ms. */
  plainPredict(which: 'pruned' | 'both'): Promise<number>;
  /**
   * The cost of running the open model here at all, for `bench:memory`'s comparison: plain
   * `tf.loadLayersModel` of the opened artifacts, one predict over the sample set in the preview's
   * batches; the model is kept (as a page that shows it would). Returns ms.
   */
  plainRun(): Promise<number>;
  /**
   * Waits until no autosave is scheduled or being written, then one frame: both sides of a comparison
   * start quiet (a preview's results schedule a save 300 ms later, which otherwise lands in whichever
   * run comes next).
   */
  quiet(): Promise<void>;
  /** The live models' weight bytes (once per data buffer), tfjs's tensor count, the wasm heap's size (0 off wasm) and the JS heap in use (Chromium). */
  memory(): { numBytes: number; numTensors: number; wasmHeapBytes: number; jsHeapBytes: number };
}

async function plainPredict(which: 'pruned' | 'both'): Promise<number> {
  const { session, sampleSet } = useWorkbench.getState();
  if (!session || !sampleSet) throw new Error('Open the sample first.');
  const pruned = keptPreviewModel();
  if (!pruned) throw new Error('Preview once first: plain predict runs the same models.');
  // A preview lets the original go once its predictions are cached: build it (untimed) when asked for.
  const entry = getModel(session.id);
  if (which === 'both') entry.tfModel ??= await loadLayersModelFromArtifacts(entry.opened.artifacts);
  const original = entry.tfModel;
  const models: tf.LayersModel[] = which === 'both' && original ? [original, pruned] : [pruned];
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

/** The model `plainRun` built (kept alive, as an app that shows a model keeps it). */
let plainModel: tf.LayersModel | null = null;

async function plainRun(): Promise<number> {
  const { session, sampleSet } = useWorkbench.getState();
  if (!session || !sampleSet) throw new Error('Open a model and a sample set first.');
  const t0 = performance.now();
  plainModel?.dispose();
  plainModel = await tf.loadLayersModel(
    tf.io.fromMemory(toTfArtifacts(getModel(session.id).opened.artifacts)),
  );
  const source = getSampleSource(sampleSet.id);
  const batch = batchSizeFor(session.ir.layers);
  for (let start = 0; start < source.count; start += batch) {
    const x = source.batch(start, Math.min(source.count, start + batch));
    const y = plainModel.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
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
    plainRun,
    quiet: async () => {
      await whenSaved();
      await tf.nextFrame();
    },
    memory: () => {
      const m = tf.memory();
      // Bytes of the live models' weights, once per data buffer (a preview model shares the original's).
      const session = useWorkbench.getState().session;
      const live = [keptPreviewModel(), session ? getModel(session.id).tfModel : undefined, plainModel];
      const seen = new Set<object>();
      let numBytes = 0;
      for (const model of live)
        for (const v of model?.weights ?? []) {
          const t = v.read();
          if (seen.has(t.dataId)) continue;
          seen.add(t.dataId);
          numBytes += t.size * 4;
        }
      const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
      const js = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
      return {
        numBytes,
        numTensors: m.numTensors,
        wasmHeapBytes: wasm?.HEAPU8?.byteLength ?? 0,
        jsHeapBytes: js?.usedJSHeapSize ?? 0,
      };
    },
  };
  (globalThis as unknown as { __prunelabBench: BenchHooks }).__prunelabBench = hooks;
}
