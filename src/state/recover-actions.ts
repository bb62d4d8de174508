/**
 * Actions of "bring your own samples", the accuracy views and recovery. Heavy objects (dropped
 * files, decoded images, live models, recovered artifacts) stay here and in the registry; the store
 * gets plain figures (recover-slice.ts). Every long loop yields a frame (`tf.nextFrame`) so the page
 * stays responsive, and can be stopped.
 */
import * as tf from '@tensorflow/tfjs';
import type { InputFile, ModelArtifactsData } from '../core/ir/artifacts';
import { isZip, unzipFiles } from '../core/io/zip';
import { IMAGE_EXTENSIONS, sniffImageFormat } from '../core/evaluate/image';
import {
  imageSetSource,
  listImageSamples,
  decodeImageSamples,
  type ImageListing,
  type ImageSampleSet,
} from '../core/evaluate/image-folder';
import { guessPreprocess, type PreprocessOptions } from '../core/evaluate/preprocess';
import { compareModels } from '../core/evaluate/compare';
import { measureLatency, type ClassificationMetrics } from '../core/evaluate/metrics';
import { splitSource, type SampleSource } from '../core/evaluate/sample-source';
import type { SampleSet } from '../core/evaluate/sample-set';
import { applyPlan } from '../core/surgery/apply-plan';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { reestimateBatchNorm, fineTune, artifactsAfterFineTune, fineTuneRecord } from '../core/train';
import { decodeImageBrowser } from '../worker/decode-image';
import {
  getModel,
  getRecovered,
  getSampleSource,
  putRecovered,
  putSampleSet,
  releaseSampleSet,
} from './registry';
import { useWorkbench, type WorkbenchState } from './store';
import { resetJobs, runJob, cancelJob } from './jobs';
import { rememberSampleFiles } from './persist';
import { currentResults, dropMeasuredFigures, patchResults, planNow, setPlanLock } from './plan-slice';
import type { PruningPlan } from '../core/plan/plan';
import {
  initialFineTune,
  type FineTuneFigures,
  type FineTuneSettings,
  type ImageSetInfo,
  type ModelView,
  type RecoverState,
} from './recover-slice';

const set = useWorkbench.setState;
const get = useWorkbench.getState;

function patch(p: Partial<RecoverState> | ((r: RecoverState) => Partial<RecoverState>)): void {
  set((s) => ({ recover: { ...s.recover, ...(typeof p === 'function' ? p(s.recover) : p) } }));
}

const LABEL_FILES = /(^|\/)(labels\.txt|metadata\.json)$|\.csv$/i;

/** True for a zip that holds at least one image (an image folder, not a model). */
function isImageZip(f: InputFile): boolean {
  if (!isZip(f.bytes)) return false;
  try {
    return unzipFiles(f.bytes, f.path).some((e) => sniffImageFormat(e.bytes) !== null);
  } catch {
    return false;
  }
}

/**
 * Splits dropped files into those of an image sample set (images sniffed by content, zips of
 * images, and with images present labels.txt / metadata.json / CSV files) and the rest.
 */
export function splitImageFiles(files: readonly InputFile[]): { images: InputFile[]; rest: InputFile[] } {
  const isImage = files.map((f) => sniffImageFormat(f.bytes) !== null || isImageZip(f));
  if (!isImage.some(Boolean)) return { images: [], rest: [...files] };
  const images: InputFile[] = [];
  const rest: InputFile[] = [];
  files.forEach((f, i) => {
    const ext = f.path.slice(f.path.lastIndexOf('.') + 1).toLowerCase();
    // Named as an image but unreadable: listed as a bad sample, not taken for a model file.
    if (isImage[i] || IMAGE_EXTENSIONS.includes(ext)) images.push(f);
    else if (LABEL_FILES.test(f.path)) {
      images.push(f);
      // Teachable Machine's metadata.json sits next to its model.json too.
      if (/metadata\.json$/i.test(f.path)) rest.push(f);
    } else rest.push(f);
  });
  return { images, rest };
}

/** A name for dropped image files: their common top folder, else 'images'. */
export function imageFolderName(files: readonly InputFile[]): string {
  const tops = new Set(files.map((f) => (f.path.includes('/') ? f.path.split('/')[0]! : '')));
  const [only] = [...tops];
  return tops.size === 1 && only ? only : files.length === 1 ? files[0]!.path : 'images';
}

/** The files of the last image folder, kept to decode them again with other preprocessing. */
let imageFiles: { files: InputFile[]; name: string } | null = null;
let listing: ImageListing | null = null;
let decodeAbort: AbortController | null = null;

/** Outputs (classes) of the open model, from its IR. */
function modelOutputs(): number | undefined {
  const { session } = get();
  if (!session) return undefined;
  const out = session.ir.layers.find((l) => l.name === session.ir.outputs[0]);
  const last = out?.outputShape[out.outputShape.length - 1];
  return typeof last === 'number' ? last : undefined;
}

/** An image set as a `.plss`-shaped set for analysis jobs (bytes; labels when they fit a byte). */
function asPlainSet(s: ImageSampleSet): SampleSet {
  return {
    count: s.count,
    height: s.height,
    width: s.width,
    channels: s.channels,
    numClasses: s.numClasses,
    pixels: s.pixels,
    labels: s.labels && s.numClasses <= 256 ? Uint8Array.from(s.labels) : null,
  };
}

/**
 * Reads an image folder (files or a zip) as the sample set, with preprocessing guessed from the
 * open model's input shape (or `preprocess` when given). Bad samples are listed, never fatal.
 */
export async function openImageFiles(
  files: InputFile[],
  name: string,
  preprocess?: PreprocessOptions,
  classNames?: readonly string[],
): Promise<void> {
  userClassNames = classNames;
  const { session } = get();
  if (!session) {
    patch({ imageError: 'Open a model first: the images are preprocessed for its input.' });
    return;
  }
  decodeAbort?.abort();
  const abort = new AbortController();
  decodeAbort = abort;
  try {
    let options = preprocess;
    let reasons = get().recover.images?.reasons ?? [];
    if (!options) {
      const guess = guessPreprocess(session.ir.inputShape);
      options = guess.options;
      reasons = guess.reasons;
    }
    const numOutputs = modelOutputs();
    listing = listImageSamples(files, {
      ...(numOutputs === undefined ? {} : { numOutputs }),
      ...(userClassNames ? { classNames: [...userClassNames] } : {}),
    });
    imageFiles = { files, name };
    patch({ decoding: { done: 0, total: listing.entries.length }, imageError: null });
    const { set: images, bad } = await decodeImageSamples(listing, decodeImageBrowser, options, {
      signal: abort.signal,
      yieldEvery: () => tf.nextFrame(),
      onProgress: (done, total) => patch({ decoding: { done, total } }),
    });
    if (images.count === 0) throw new Error('No readable images were found.');
    const per = images.height * images.width * images.channels;
    const step = Math.max(1, Math.floor(images.count / 8));
    const previews: ImageSetInfo['previews'] = [];
    for (let i = 0; i < images.count && previews.length < 8; i += step) {
      const l = images.labels?.[i];
      previews.push({
        path: images.paths[i]!,
        label: l === undefined ? null : (images.classNames[l] ?? String(l)),
        pixels: Array.from(images.pixels.subarray(i * per, (i + 1) * per)),
      });
    }
    const sid = putSampleSet(asPlainSet(images), imageSetSource(images));
    const prev = get().sampleSet;
    if (prev) releaseSampleSet(prev.id);
    set((s) => ({
      sampleSet: {
        id: sid,
        name,
        count: images.count,
        labelled: images.labels !== null,
        shape: [images.height, images.width, images.channels],
      },
      recover: {
        ...s.recover,
        decoding: null,
        imageError: null,
        images: {
          name,
          preprocess: options,
          reasons,
          labelling: listing!.labelling,
          classNames: images.classNames,
          bad,
          notes: listing!.notes,
          previews,
        },
      },
    }));
    resetJobs(['preview', 'compare', 'bn', 'finetune', 'export']);
    dropMeasuredFigures();
    rememberSampleFiles('images', name, files, {
      preprocess: options,
      ...(userClassNames ? { classNames: userClassNames } : {}),
    });
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') return;
    patch({ decoding: null, imageError: e instanceof Error ? e.message : String(e) });
  } finally {
    if (decodeAbort === abort) decodeAbort = null;
  }
}

/** Decodes the last image folder again with other preprocessing (keeping class names typed in the page). */
export async function redecodeImages(options: PreprocessOptions): Promise<void> {
  if (imageFiles) await openImageFiles(imageFiles.files, imageFiles.name, options, userClassNames);
}

/**
 * Maps class names to output indices as typed in the page (line i = output i), overriding labels.txt,
 * metadata.json or folder order, and reads the images again.
 */
export async function setClassNames(names: readonly string[]): Promise<void> {
  const images = get().recover.images;
  if (imageFiles && images) await openImageFiles(imageFiles.files, imageFiles.name, images.preprocess, names);
}

/** Class names typed in the page for the open image folder (undefined: from its files). */
let userClassNames: readonly string[] | undefined;

/** The original (cached in the registry) and a fresh pruned model for `plan` (recovered when there is one). */
async function modelsForPlan(
  plan: PruningPlan,
  planKey: string,
): Promise<{
  original: tf.LayersModel;
  pruned: tf.LayersModel;
  artifacts: ModelArtifactsData;
}> {
  const { session } = get();
  if (!session) throw new Error('No model is open.');
  const entry = getModel(session.id);
  entry.tfModel ??= await loadLayersModelFromArtifacts(entry.opened.artifacts);
  const artifacts =
    getRecovered(session.id, planKey) ??
    applyPlan(entry.opened.artifacts, plan, entry.opened.ir, entry.opened.graph).artifacts;
  // Built on the original's tensors: only the weights the plan changed are new (training and BN
  // re-estimation replace a variable's tensor, never write into it, so the original stays as it is).
  const pruned = await loadLayersModelFromArtifacts(artifacts, {
    share: { model: entry.tfModel, artifacts: entry.opened.artifacts },
  });
  return { original: entry.tfModel, pruned, artifacts };
}

function currentSource(): SampleSource {
  const { sampleSet } = get();
  if (!sampleSet) throw new Error('Open a sample set first.');
  return getSampleSource(sampleSet.id);
}

function viewOf(
  metrics: ClassificationMetrics | null,
  agreement: number | null,
  kl: number | null,
  latencyMs: number | null,
  classNames: readonly string[],
): ModelView {
  return {
    top1: metrics ? metrics.top1 : null,
    top5: metrics ? metrics.top5 : null,
    perClass: (metrics?.perClass ?? []).map((c) => ({
      label: c.label,
      name: classNames[c.label] ?? String(c.label),
      count: c.count,
      correct: c.correct,
      accuracy: c.accuracy,
    })),
    confusion: metrics ? Array.from(metrics.confusion) : [],
    agreement,
    kl,
    latencyMs,
  };
}

/**
 * Original and pruned side by side: top-1/top-5, per class, confusion, agreement, KL, latency. The
 * figures, FLOPs included, are filed under the plan they were measured for, whatever is on screen
 * when the job ends.
 */
export async function runCompare(): Promise<void> {
  const { session, sampleSet } = get();
  if (!session || !sampleSet) return;
  const { plan, key } = planNow();
  await runJob(
    'compare',
    async ({ signal, progress }) => {
      let pruned: tf.LayersModel | null = null;
      try {
        const models = await modelsForPlan(plan, key);
        pruned = models.pruned;
        const source = currentSource();
        progress(0, source.count, 'Measuring accuracy');
        const result = await compareModels([models.original, pruned], source, {
          batchSize: 64,
          signal,
          yieldEvery: () => tf.nextFrame(),
        });
        progress(source.count, source.count, 'Measuring latency');
        const lat = { warmup: 2, runs: 10, signal, yieldEvery: () => tf.nextFrame() };
        const latO = await measureLatency(models.original, lat);
        const latP = await measureLatency(pruned, lat);
        const cost = getModel(session.id).costModel;
        const before = cost.evaluate({ version: 1, remove: {} }).flops;
        const after = cost.evaluate(plan).flops;
        const names = get().recover.images?.classNames ?? [];
        const [mo, mp] = result.models;
        if (get().session?.id !== session.id || get().sampleSet?.id !== sampleSet.id) return;
        patchResults(key, plan, () => ({
          compare: {
            samples: result.samples,
            numClasses: mo?.metrics?.numClasses ?? result.numOutputs,
            original: viewOf(
              mo?.metrics ?? null,
              mo?.agreement ?? null,
              mo?.klFromOriginal ?? null,
              latO.perImageMs,
              names,
            ),
            pruned: viewOf(
              mp?.metrics ?? null,
              mp?.agreement ?? null,
              mp?.klFromOriginal ?? null,
              latP.perImageMs,
              names,
            ),
            flopsRatio: before > 0 ? after / before : null,
            backend: latO.backend,
          },
        }));
      } finally {
        pruned?.dispose();
      }
    },
    { planKey: key, label: 'Accuracy view' },
  );
}

/** Cancels the accuracy view's run. */
export function cancelCompare(): void {
  cancelJob('compare');
}

/** Changes fine-tuning settings. */
export function setFineTuneSettings(p: Partial<FineTuneSettings>): void {
  patch((r) => ({ settings: { ...r.settings, ...p } }));
}

/** Keeps recovered artifacts for the plan and notes the step. */
function keepRecovered(
  plan: PruningPlan,
  planKey: string,
  artifacts: ModelArtifactsData,
  step: string,
): void {
  const { session } = get();
  if (!session) return;
  putRecovered(session.id, planKey, artifacts);
  patchResults(planKey, plan, (r) => ({ recovered: [...(r.recovered ?? []), step] }));
}

/**
 * Re-estimates the pruned model's BatchNorm statistics on the sample set; the result is what the
 * download holds for this plan. Cancellable between batches (nothing is kept then).
 */
export async function runReestimateBatchNorm(): Promise<void> {
  const { session, sampleSet } = get();
  if (!session || !sampleSet) return;
  const { plan, key } = planNow();
  await runJob(
    'bn',
    async ({ signal, progress }) => {
      let pruned: tf.LayersModel | null = null;
      try {
        const models = await modelsForPlan(plan, key);
        pruned = models.pruned;
        const r = await reestimateBatchNorm(pruned, currentSource(), {
          batchSize: 64,
          signal,
          onProgress: (done, total) => progress(done, total),
          yieldEvery: () => tf.nextFrame(),
        });
        signal.throwIfAborted();
        if (get().session?.id !== session.id) return;
        keepRecovered(
          plan,
          key,
          await artifactsAfterFineTune(models.artifacts, pruned),
          'BatchNorm re-estimated',
        );
        patchResults(key, plan, () => ({ bn: { layers: r.layers.length } }));
      } finally {
        pruned?.dispose();
      }
    },
    { planKey: key, label: 'Re-estimating BatchNorm' },
  );
}

/** Cancels BatchNorm re-estimation; the weights stay as they were. */
export function cancelReestimate(): void {
  cancelJob('bn');
}

/** Why ticks are refused while fine-tuning runs. */
export const FINE_TUNE_LOCK =
  'The plan is locked while fine-tuning runs: Stop fine-tuning (the best weights so far are kept) to change the ticks.';

/**
 * Fine-tunes the pruned model (the recovered one when it matches the plan) on a training split of
 * the sample set, optionally distilled from the original; the curve updates per epoch. Stop keeps
 * the best weights so far. The plan is locked meanwhile; the result is kept for its download,
 * provenance intact.
 */
export async function runFineTune(): Promise<void> {
  const { session, sampleSet, recover } = get();
  if (!session || !sampleSet || get().jobs.finetune.status === 'running') return;
  const { plan, key } = planNow();
  const st = recover.settings;
  const patchFt = (f: (ft: FineTuneFigures) => Partial<FineTuneFigures>) =>
    patchResults(key, plan, (r) => {
      const ft = r.fineTune ?? initialFineTune;
      return { fineTune: { ...ft, ...f(ft) } };
    });
  setPlanLock(FINE_TUNE_LOCK);
  try {
    await runJob(
      'finetune',
      async ({ signal, progress }) => {
        patchFt(() => ({ ...initialFineTune }));
        let pruned: tf.LayersModel | null = null;
        try {
          const source = currentSource();
          if (source.labels === null && !st.distill)
            throw new Error('The samples have no labels: tick distillation from the original to fine-tune.');
          const models = await modelsForPlan(plan, key);
          pruned = models.pruned;
          const split = splitSource(source, st.valSplit, 0);
          const result = await fineTune(pruned, split.train, split.val, {
            epochs: st.epochs,
            batchSize: st.batchSize,
            learningRate: st.learningRate,
            optimizer: st.optimizer,
            ...(st.distill ? { teacher: models.original, temperature: st.temperature, alpha: st.alpha } : {}),
            signal,
            yieldEvery: () => tf.nextFrame(),
            onBatch: (p) => {
              patchFt(() => ({ batch: p }));
              progress((p.epoch - 1) * p.batches + p.batch, st.epochs * p.batches);
            },
            onEpoch: (e) =>
              patchFt((ft) => ({
                curve: [
                  ...ft.curve,
                  {
                    epoch: e.epoch,
                    loss: e.loss,
                    accuracy: e.accuracy,
                    valAccuracy: e.valAccuracy,
                    valKl: e.valKl,
                    partial: e.partial,
                  },
                ],
              })),
          });
          const record = fineTuneRecord(result, {
            epochs: st.epochs,
            batchSize: st.batchSize,
            trainSamples: split.train.count,
            valSamples: split.val.count,
          });
          keepRecovered(
            plan,
            key,
            await artifactsAfterFineTune(models.artifacts, pruned, record),
            `fine-tuned ${result.history.length} epoch${result.history.length === 1 ? '' : 's'}`,
          );
          patchFt(() => ({
            batch: null,
            before: result.before.accuracy,
            after: result.after.accuracy,
            klBefore: result.before.kl,
            klAfter: result.after.kl,
            bestEpoch: result.bestEpoch,
            stopped: result.stopped,
            finished: true,
          }));
          // Stop keeps the best weights: the job ends as done, not cancelled.
          return true;
        } catch (e) {
          patchFt(() => ({ batch: null }));
          throw e;
        } finally {
          pruned?.dispose();
        }
      },
      { planKey: key, label: 'Fine-tuning' },
    );
  } finally {
    setPlanLock(null);
  }
}

/** Stops fine-tuning after the current batch; the best weights so far are kept. */
export function stopFineTune(): void {
  cancelJob('finetune');
}

/** The fine-tuning figures of the plan on screen. */
export function fineTuneOf(s: WorkbenchState): FineTuneFigures | undefined {
  return currentResults(s)?.fineTune;
}

/** True when recovered artifacts belong to the plan on screen (used by the UI). */
export function recoveredMatches(s: WorkbenchState): boolean {
  return (currentResults(s)?.recovered?.length ?? 0) > 0;
}
