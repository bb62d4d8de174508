import * as tf from '@tensorflow/tfjs';
import type { InputFile } from '../core/ir/artifacts';
import { openModelOffThread, parseLoadTimeoutParam } from '../worker/open-model-client';
import { isModelLoadError } from '../core/io/errors';
import { makeCostModel } from '../core/metrics/costs';
import type { Criterion } from '../core/scoring';
import { selectLowest } from '../core/plan/auto';
import type { PruningPlan } from '../core/plan/plan';
import { applyPlan } from '../core/surgery/apply-plan';
import { quantizedArtifacts } from '../core/io/export-tfjs';
import {
  attachSourceStorage,
  defaultQuantization,
  filesBytes,
  sourceStorageOf,
} from '../core/io/source-storage';
import { readSourceStorage } from '../core/io/tfjs-format';
import { expandArchives } from '../core/io/open-model';
import { loadLayersModelFromArtifacts, type ShareWeights } from '../core/io/tf-artifacts';
import { parseSampleSet, SAMPLE_SET_MAGIC } from '../core/evaluate/sample-set';
import { checkSamplesFit, samplesModelOf } from '../core/evaluate/samples-fit';
import { batchSizeFor, evaluateModels, topOneAgreement } from '../core/evaluate/evaluate';
import {
  getModel,
  getRecovered,
  getSampleSource,
  putModel,
  putSampleSet,
  releaseModel,
  releaseSampleSet,
} from './registry';
import { useWorkbench } from './store';
import { openPlanFile } from './export-actions';
import { initBackend } from './tf-runtime';
import { chooseCriterion, frameYielder, scoresForOpen } from './analysis-actions';
import { openImageFiles, splitImageFiles, imageFolderName } from './recover-actions';
import { commitPlan, dropMeasuredFigures, patchResults, planNow, resetPlanHistory } from './plan-slice';
import { resetJobs, runJob } from './jobs';
import { rememberModelFiles, rememberSampleFiles, restoreSession } from './persist';

const set = useWorkbench.setState;

/** A PruneLab plan file: JSON with `version` and `remove`, and no model topology. */
function isPlanFile(f: InputFile): boolean {
  if (f.bytes.length > 32 * 1024 * 1024 || f.bytes[0] !== 0x7b) return false;
  const head = new TextDecoder().decode(f.bytes.subarray(0, 4096));
  return /"remove"\s*:/.test(head) && /"version"\s*:/.test(head) && !/"modelTopology"/.test(head);
}

/** Sniffs a `.plss` sample set by its magic bytes, whatever the file is called. */
function isSampleSetFile(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) === SAMPLE_SET_MAGIC;
}
const get = useWorkbench.getState;

/** Starts tfjs on the best backend and records the choice. */
export async function startRuntime(): Promise<void> {
  try {
    const backend = await initBackend();
    set({ backend });
  } catch (e) {
    set({ backendError: e instanceof Error ? e.message : String(e) });
  }
}

/** Scores of a model being opened: cached, with the analysis options (analysis-actions.ts). */
function scoresOf(id: number, criterion: Criterion): Record<string, number[]> {
  return scoresForOpen(id, criterion);
}

/** The open in progress, so that Cancel (and a newer drop) can stop it. */
let opening: AbortController | null = null;

/** Stops the model open in progress; it ends as CANCELLED and the open model stays. */
export function cancelOpening(): void {
  opening?.abort();
}

/** Images dropped on an open model, waiting for the user to say they are its sample set. */
let pendingImages: { files: InputFile[]; label: string } | null = null;

export interface OpenOptions {
  /** Reopen under this session uid (a restored session) instead of a new one. */
  uid?: string;
  /** Images dropped on an open model are used as its sample set without asking. */
  imagesAreSamples?: boolean;
}

/**
 * Opens what the user dropped or picked: a model (TF.js model.json + shards in any order, folders,
 * zips; Keras .h5/.keras) and/or a sample set (.plss, or images). On any error the model and plan
 * already open stay exactly as they were. Images dropped alone on an open model are not taken as its
 * sample set until the user says so (`pendingSamples`). Returns whether everything opened.
 */
export async function openFiles(
  files: InputFile[],
  label?: string,
  opts: OpenOptions = {},
): Promise<boolean> {
  const names = files.map((f) => f.path);
  // A saved plan dropped on an open model is opened as a plan (sniffed by content, not by name).
  const planFiles = get().session ? files.filter(isPlanFile) : [];
  if (planFiles.length > 0 && planFiles.length === files.length) {
    const ok = planFiles.every((f) => openPlanFile(new TextDecoder().decode(f.bytes), f.path));
    if (ok) set({ dropInfo: `Opened ${planFiles.map((f) => f.path).join(', ')} as a plan.` });
    return ok;
  }
  const sampleFiles = files.filter((f) => isSampleSetFile(f.bytes));
  // Images (sniffed by content), zips of images and their labels files make an image sample set.
  const { images: imageFiles, rest } = splitImageFiles(files.filter((f) => !isSampleSetFile(f.bytes)));
  const modelFiles = rest.filter((f) => !/(^|\/)metadata\.json$/i.test(f.path) || rest.length > 1);
  if (
    imageFiles.length > 0 &&
    modelFiles.length === 0 &&
    sampleFiles.length === 0 &&
    get().session &&
    !opts.imagesAreSamples
  ) {
    pendingImages = { files: imageFiles, label: label ?? imageFolderName(imageFiles) };
    set({ pendingSamples: { label: pendingImages.label, count: imageFiles.length }, loadError: null });
    return false;
  }
  set({ loading: `Opening ${label ?? names.join(', ')}`, loadError: null, notice: null });
  opening?.abort(); // a newer drop replaces an open still running
  const controller = new AbortController();
  opening = controller;
  try {
    let sessionPatch: Partial<ReturnType<typeof get>> = {};
    if (modelFiles.length > 0) {
      // Parsed in a worker with a time limit, so a runaway file cannot freeze the tab (issue 9).
      const timeoutMs = typeof location === 'undefined' ? undefined : parseLoadTimeoutParam(location.search);
      const opened = await openModelOffThread(modelFiles, {
        signal: controller.signal,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      if (opening !== controller) return false;
      const costModel = makeCostModel(opened.ir, opened.graph);
      // How the weights were stored (export-actions.ts keeps it): the worker's copy left it behind.
      const source = sourceStorageOf(opened.artifacts) ?? readSourceStorage(expandArchives(modelFiles));
      if (source) attachSourceStorage(opened.artifacts, source);
      const id = putModel({ opened, costModel, sourceFiles: modelFiles });
      const jsonFile = modelFiles.find((f) => f.path.toLowerCase().endsWith('.json'));
      const name = label ?? opened.ir.name ?? jsonFile?.path ?? 'model';
      sessionPatch = {
        // `bytes`: the opened files' size, what exports are compared with (export-actions.ts openedBytes).
        session: {
          id,
          uid: opts.uid ?? newSessionUid(),
          name,
          files: modelFiles.map((f) => f.path),
          ir: opened.ir,
          graph: opened.graph,
          bytes: filesBytes(modelFiles),
          warnings: opened.warnings ?? [],
        },
        // Downloads keep the storage the model came in (a uint8 model.json comes back uint8).
        exportQuantize: defaultQuantization(source),
        scores: scoresOf(id, get().criterion),
        ...resetPlanHistory(`open ${name}`),
        canvasTab: 'filters',
        anchor: null,
        focusLayer: null,
        focusChannel: null,
      };
    }
    let samplePatch: Partial<ReturnType<typeof get>> = {};
    const sampleFile = sampleFiles[0];
    if (sampleFile) {
      const parsed = parseSampleSet(sampleFile.bytes, sampleFile.path);
      // Empty sets, labels past the model's outputs and a wrong input size are refused by name.
      const ir = sessionPatch.session?.ir ?? get().session?.ir;
      if (ir) {
        checkSamplesFit(
          {
            count: parsed.count,
            shape: [parsed.height, parsed.width, parsed.channels],
            labels: parsed.labels,
          },
          samplesModelOf(ir),
          sampleFile.path,
        );
      }
      const sid = putSampleSet(parsed);
      samplePatch = {
        sampleSet: {
          id: sid,
          name: sampleFile.path,
          count: parsed.count,
          labelled: parsed.labels !== null,
          shape: [parsed.height, parsed.width, parsed.channels],
        },
        recover: { ...get().recover, images: null },
      };
    }
    // Commit only now that everything parsed: release what the new objects replace.
    const prev = get();
    if (sessionPatch.session && prev.session) releaseModel(prev.session.id);
    if (samplePatch.sampleSet && prev.sampleSet) releaseSampleSet(prev.sampleSet.id);
    if (sessionPatch.session || samplePatch.sampleSet)
      resetJobs(['preview', 'compare', 'bn', 'finetune', 'export']);
    // The session this one replaces stays in the browser, under Recent sessions (persist.ts).
    const taken = [
      sessionPatch.session ? `${sessionPatch.session.name} as the model` : '',
      samplePatch.sampleSet ? `${samplePatch.sampleSet.name} as the sample set` : '',
      imageFiles.length ? `${imageFiles.length} images as the sample set` : '',
    ].filter(Boolean);
    set({
      ...sessionPatch,
      ...samplePatch,
      loading: null,
      pendingSamples: null,
      dropInfo: taken.length ? `Opened ${taken.join(' and ')}.` : null,
    });
    if (sessionPatch.session)
      rememberModelFiles(sessionPatch.session.uid, sessionPatch.session.name, modelFiles);
    if (sampleFile && samplePatch.sampleSet) rememberSampleFiles('plss', sampleFile.path, [sampleFile]);
    if (samplePatch.sampleSet && !sessionPatch.session) dropMeasuredFigures();
    if (imageFiles.length > 0) await openImageFiles(imageFiles, label ?? imageFolderName(imageFiles));
    return true;
  } catch (e) {
    if (opening !== controller) return false; // superseded by a newer open
    const code = isModelLoadError(e) ? e.code : 'ERROR';
    const message = e instanceof Error ? e.message : String(e);
    set({ loading: null, loadError: { code, message, files: names }, dropInfo: null });
    return false;
  } finally {
    if (opening === controller) opening = null;
  }
}

/** Uses the images dropped on the open model as its sample set (the user said yes). */
export async function acceptPendingSamples(): Promise<void> {
  const p = pendingImages;
  pendingImages = null;
  set({ pendingSamples: null });
  if (p) await openImageFiles(p.files, p.label);
}

/** Forgets the images dropped on the open model (the user said no). */
export function dismissPendingSamples(): void {
  pendingImages = null;
  set({ pendingSamples: null });
}

/** Opens a session kept in the browser (persist.ts) with its history, results and recovered weights. */
export function openSavedSession(uid: string): Promise<boolean> {
  return restoreSession(uid, {
    openModel: (files, name, id) => openFiles(files, name, { uid: id, imagesAreSamples: true }),
    openImages: (files, name, preprocess, classNames) => openImageFiles(files, name, preprocess, classNames),
  });
}

/** A random id for a new working session (its key in the browser's storage). */
export function newSessionUid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function fetchFile(url: string, path: string): Promise<InputFile> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Could not fetch the bundled sample '${path}' (HTTP ${res.status}).`);
  return { path, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** Opens the bundled MNIST sample model and its held-out digits in one go. */
export async function openSample(): Promise<void> {
  const base = new URL('samples/', document.baseURI);
  try {
    set({ loading: 'Fetching the bundled sample' });
    const files = await Promise.all([
      fetchFile(new URL('mnist-cnn/model.json', base).href, 'mnist-cnn/model.json'),
      fetchFile(new URL('mnist-cnn/group1-shard1of1.bin', base).href, 'mnist-cnn/group1-shard1of1.bin'),
      fetchFile(new URL('mnist-heldout.plss', base).href, 'mnist-heldout.plss'),
    ]);
    await openFiles(files, 'mnist-cnn (bundled sample)');
  } catch (e) {
    set({
      loading: null,
      loadError: { code: 'ERROR', message: e instanceof Error ? e.message : String(e), files: [] },
    });
  }
}

/** Switches the importance criterion and recomputes scores. */
export function setCriterion(criterion: Criterion): void {
  // Data-based criteria run as a cancellable job on the sample set; scores are cached (analysis-actions.ts).
  chooseCriterion(criterion);
}

function withLayer(plan: PruningPlan, layer: string, channels: Iterable<number>): PruningPlan {
  const sorted = [...new Set(channels)].sort((a, b) => a - b);
  const remove = { ...plan.remove };
  if (sorted.length === 0) delete remove[layer];
  else remove[layer] = sorted;
  return { ...plan, remove };
}

function groupSize(layer: string): number {
  const { session } = get();
  if (!session) return 0;
  const gid = session.graph.groupByProducer[layer];
  return gid === undefined ? 0 : (session.graph.groups[gid]?.size ?? 0);
}

/**
 * Ticks or unticks one filter; with `range`, every filter between the last clicked one and this one
 * takes this filter's new state, as one step. A tick that would remove every filter of a layer is refused.
 */
export function toggleFilter(layer: string, channel: number, range = false): void {
  const { plan, anchor } = get();
  const current = new Set(plan.remove[layer] ?? []);
  const selecting = !current.has(channel);
  const ranged = range && anchor?.layer === layer && anchor.channel !== channel;
  const from = ranged ? Math.min(anchor.channel, channel) : channel;
  const to = ranged ? Math.max(anchor.channel, channel) : channel;
  for (let c = from; c <= to; c++) {
    if (selecting) current.add(c);
    else current.delete(c);
  }
  const size = groupSize(layer);
  if (current.size >= size) {
    set({
      notice: `Layer '${layer}' must keep at least one of its ${size} filters.`,
      anchor: { layer, channel },
    });
    return;
  }
  const label = `${selecting ? 'tick' : 'untick'} ${layer} #${from}${to > from ? `–#${to}` : ''}`;
  commitPlan(withLayer(plan, layer, current), label, { anchor: { layer, channel } });
}

/** Selects the lowest `fraction` of filters by the current criterion, in one layer or all prunable layers. */
export function selectLowestFraction(fraction: number, layer?: string): void {
  const { session, scores, plan } = get();
  if (!session) return;
  if (!(fraction >= 0 && fraction < 1)) {
    set({ notice: `Choose a share from 0% to 99%, not ${Math.round(fraction * 100)}%.` });
    return;
  }
  let next = plan;
  for (const g of session.graph.groups) {
    if (!g.prunable || (layer !== undefined && g.producer !== layer)) continue;
    const s = scores[g.producer];
    if (!s) continue;
    next = withLayer(next, g.producer, selectLowest(Float32Array.from(s), fraction));
  }
  const pct = `${Math.round(fraction * 1000) / 10}%`;
  commitPlan(next, layer === undefined ? `lowest ${pct} in all layers` : `lowest ${pct} in ${layer}`);
}

/** Clears the selection of one layer, or of all layers. */
export function clearSelection(layer?: string): void {
  const { plan } = get();
  commitPlan(
    layer === undefined ? { version: 1, remove: {} } : withLayer(plan, layer, []),
    layer === undefined ? 'clear all' : `clear ${layer}`,
  );
}

/** Ticks (or unticks) a set of filters of one layer as one step (a shift-click band in sorted order). */
export function setFilters(layer: string, channels: number[], select: boolean): void {
  const current = new Set(get().plan.remove[layer] ?? []);
  for (const c of channels) {
    if (select) current.add(c);
    else current.delete(c);
  }
  if (current.size >= groupSize(layer)) {
    set({ notice: `Layer '${layer}' must keep at least one of its ${groupSize(layer)} filters.` });
    return;
  }
  commitPlan(
    withLayer(get().plan, layer, current),
    `${select ? 'tick' : 'untick'} ${channels.length} filters of ${layer} by score`,
  );
}

/**
 * Ticks every filter of a layer whose score is below `threshold` (the histogram's threshold), as one
 * step replacing that layer's ticks. Refused when it would remove every filter.
 */
export function selectBelow(layer: string, threshold: number): void {
  const { scores, plan } = get();
  const s = scores[layer];
  if (!s) return;
  const below = s.flatMap((v, i) => (v < threshold ? [i] : []));
  if (below.length >= groupSize(layer)) {
    set({ notice: `Layer '${layer}' must keep at least one of its ${groupSize(layer)} filters.` });
    return;
  }
  commitPlan(withLayer(plan, layer, below), `below ${threshold.toPrecision(3)} in ${layer}`);
}

/** Heatmap colours per layer or over all layers; filters in index or score order. */
export function setHeatmapView(patch: Partial<ReturnType<typeof get>['heatmap']>): void {
  set((s) => ({ heatmap: { ...s.heatmap, ...patch } }));
}

/** Shows one view in the centre of the workbench. */
export function setCanvasTab(tab: ReturnType<typeof get>['canvasTab']): void {
  if (get().canvasTab !== tab) set({ canvasTab: tab });
}

/** Navigator search and filter. */
export function setNavigator(patch: Partial<ReturnType<typeof get>['navigator']>): void {
  set((s) => ({ navigator: { ...s.navigator, ...patch } }));
}

/** Opens or closes the keyboard shortcuts overlay. */
export function setHelpOpen(open: boolean): void {
  set({ helpOpen: open });
}

/** Sets which layer's coupling is highlighted. */
export function setFocusLayer(layer: string | null): void {
  if (get().focusLayer !== layer) set({ focusLayer: layer });
}

/** Sets the filter whose coupled channels are spelled out (null when the pointer leaves). */
export function setFocusChannel(layer: string, channel: number | null): void {
  const cur = get().focusChannel;
  if (channel === null) {
    if (cur?.layer === layer) set({ focusChannel: null });
  } else if (cur?.layer !== layer || cur.channel !== channel) {
    set({ focusChannel: { layer, channel }, focusLayer: layer });
  }
}

/** Switches the layer list between layers, groups and the graph view. */
export function setLayerView(view: 'layers' | 'groups' | 'graph'): void {
  set({ layerView: view, canvasTab: view });
}

/** Focuses a layer from the graph or group view: highlights it and scrolls its group's heatmap into view. */
export function revealLayer(layer: string): string | null {
  const { session } = get();
  if (!session) return null;
  const gid = session.graph.groupByProducer[layer] ?? session.graph.groupsByLayer[layer]?.[0];
  const group = gid === undefined ? undefined : session.graph.groups[gid];
  const producer = group?.producer ?? null;
  set({ focusLayer: producer ?? layer });
  return producer;
}

/**
 * Measures original and pruned accuracy and their agreement on the sample set, in batches on the
 * active backend, yielding between batches so the page stays responsive. Cancellable; the figures
 * are filed under the plan they were measured for.
 */
export async function runPreview(): Promise<void> {
  const { session, sampleSet } = get();
  if (!session || !sampleSet) return;
  const { plan, key } = planNow();
  const quantize = get().exportQuantize;
  await runJob(
    'preview',
    async ({ signal, progress }) => {
      const entry = getModel(session.id);
      const source = getSampleSource(sampleSet.id);
      const evalOpts = {
        // Small enough that a batch's activations stay bounded (the wasm heap never shrinks).
        batchSize: batchSizeFor(session.ir.layers),
        signal,
        yieldEvery: frameYielder(PREVIEW_SLICE_MS, { wait: 'task' }),
      };
      // The original does not change: its predictions on this sample set are computed once, in a
      // pass of their own. The pruned model is built on the original's tensors (only the weights the
      // plan changed are new), so a preview adds the changed weights, not a second model.
      let original =
        originalOutputs?.modelId === session.id && originalOutputs.sampleSetId === sampleSet.id
          ? originalOutputs
          : null;
      const passes = original ? 1 : 2;
      progress(0, passes * sampleSet.count);
      const base = (entry.tfModel ??= await loadLayersModelFromArtifacts(entry.opened.artifacts));
      if (!original) {
        const r = await evaluateModels([base], source, {
          ...evalOpts,
          onProgress: (done) => progress(done, 2 * sampleSet.count),
        });
        original = {
          modelId: session.id,
          sampleSetId: sampleSet.id,
          predictions: r.predictions[0]!,
          accuracy: r.accuracy[0] ?? null,
        };
        originalOutputs = original;
      }
      // The recovered (fine-tuned) model for this plan when there is one: what the download holds.
      const recovered = getRecovered(session.id, key);
      const pruned = await previewModelFor(
        session.id,
        key,
        quantize,
        recovered,
        () => {
          const artifacts =
            recovered ??
            applyPlan(entry.opened.artifacts, plan, entry.opened.ir, entry.opened.graph).artifacts;
          // The preview measures what the download will hold: quantized weights when chosen.
          return quantize === 'none'
            ? artifacts
            : quantizedArtifacts(artifacts, quantize, sourceStorageOf(entry.opened.artifacts));
        },
        { model: base, artifacts: entry.opened.artifacts },
      );
      const offset = (passes - 1) * sampleSet.count;
      const result = await evaluateModels([pruned], source, {
        ...evalOpts,
        onProgress: (done) => progress(offset + done, passes * sampleSet.count),
      });
      if (get().session?.id !== session.id || get().sampleSet?.id !== sampleSet.id) return;
      const prunedPredictions = result.predictions[0]!;
      patchResults(key, plan, () => ({
        preview: {
          original: original.accuracy,
          pruned: result.accuracy[0] ?? null,
          agreement: topOneAgreement(original.predictions, prunedPredictions),
          samples: result.samples,
          quantize,
        },
      }));
    },
    { planKey: key, label: 'Preview' },
  );
}

/** Work this long between frames in a preview (a frame per batch cost 15-30% of its speed). */
export const PREVIEW_SLICE_MS = 50;

/** The original model's top-1 predictions on the open sample set: they never change. */
let originalOutputs: {
  modelId: number;
  sampleSetId: number;
  predictions: Int32Array;
  accuracy: number | null;
} | null = null;

/**
 * The live pruned model of the last preview, kept for its plan key (and storage and recovered
 * weights): previewing the same plan again does not rebuild it. Only one is kept, built on the
 * original's tensors, so the page holds the original plus the weights the plan changed (with
 * quantized or fine-tuned weights, one extra copy); the one it replaces is disposed.
 */
let previewModel: {
  modelId: number;
  key: string;
  quantize: string;
  source: object | undefined;
  model: tf.LayersModel;
} | null = null;

async function previewModelFor(
  modelId: number,
  key: string,
  quantize: string,
  source: object | undefined,
  build: () => Parameters<typeof loadLayersModelFromArtifacts>[0],
  share: ShareWeights,
): Promise<tf.LayersModel> {
  const p = previewModel;
  if (p && p.modelId === modelId && p.key === key && p.quantize === quantize && p.source === source) {
    return p.model;
  }
  disposePreviewModel();
  const model = await loadLayersModelFromArtifacts(build(), { share });
  previewModel = { modelId, key, quantize, source, model };
  return model;
}

/** The live pruned model the last preview ran (for the in-page benchmark), or null. */
export function keptPreviewModel(): tf.LayersModel | null {
  return previewModel?.model ?? null;
}

/** Frees the kept preview model (a new model or sample set, or to measure memory). */
export function disposePreviewModel(): void {
  previewModel?.model.dispose();
  previewModel = null;
}

// A new model or sample set: the kept preview model and the original's outputs no longer apply.
useWorkbench.subscribe((s, prev) => {
  if (s.session?.id !== prev.session?.id) disposePreviewModel();
  if (s.session?.id !== prev.session?.id || s.sampleSet?.id !== prev.sampleSet?.id) originalOutputs = null;
});
