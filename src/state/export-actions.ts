import type { ModelArtifactsData } from '../core/ir/artifacts';
import { applyPlan } from '../core/surgery/apply-plan';
import { create } from 'zustand';
import { tfjsModelSize, writeTfjsModel, type TfjsQuantization } from '../core/io/export-tfjs';
import { filesBytes, sourceStorageOf } from '../core/io/source-storage';
import { writeKerasV3 } from '../core/io/keras-v3';
import { writeKerasH5 } from '../core/io/keras-h5';
import { zipFilesAsync } from '../core/io/zip';
import { writeOnnx } from '../core/io/onnx/export';
import { modelFingerprint } from '../core/io/fingerprint';
import type { PruningPlan } from '../core/plan/plan';
import { parsePlanFile } from '../core/plan/plan-file';
import { isModelLoadError } from '../core/io/errors';
import { getModel, getRecovered } from './registry';
import { useWorkbench } from './store';
import { commitPlan } from './plan-slice';
import { runJob } from './jobs';

const set = useWorkbench.setState;
const get = useWorkbench.getState;

export type ExportKind = 'tfjs-zip' | 'tfjs-files' | 'keras' | 'h5' | 'onnx';

/** Every export kind, in the order the panel lists them. */
export const EXPORT_KINDS: readonly ExportKind[] = ['tfjs-zip', 'tfjs-files', 'keras', 'h5', 'onnx'];

/** The kinds the open model can be written as: ONNX only for a model opened from an ONNX file. */
export function availableKinds(): ExportKind[] {
  const { session } = get();
  const onnx = session?.ir.origin?.format === 'onnx';
  return EXPORT_KINDS.filter((k) => k !== 'onnx' || onnx);
}

/**
 * What the export panel and the totals' "File size" show: the exact bytes of each download for the
 * current plan and quantization (built, not estimated), the format chosen, and the bytes of the
 * files that were opened. Plain data; kept beside the main store because only these two read it.
 */
export interface ExportSizesState {
  /** `planKey|quantize|session` the sizes were measured for; null before any. */
  key: string | null;
  sizes: Partial<Record<ExportKind, number>>;
  /** TF.js size per weight storage for the current plan (cheap: no bytes are encoded). */
  tfjsBySize: Partial<Record<TfjsQuantization, number>>;
  /** The format the totals compare; the input's own form until the user picks another. */
  kind: ExportKind | null;
  /** The session `kind` was picked in (another model starts from its own form again). */
  kindFor: number | null;
}

export const useExportSizes = create<ExportSizesState>(() => ({
  key: null,
  sizes: {},
  tfjsBySize: {},
  kind: null,
  kindFor: null,
}));

/** The download that keeps the user's form: a .keras for a .keras, an .h5 for an .h5, else one TF.js zip. */
export function inputKind(files: readonly string[]): ExportKind {
  if (files.some((f) => /\.onnx$/i.test(f))) return 'onnx';
  if (files.some((f) => /\.keras$/i.test(f))) return 'keras';
  if (files.some((f) => /\.(h5|hdf5)$/i.test(f))) return 'h5';
  return 'tfjs-zip';
}

/** The format the totals compare with, and the export panel preselects. */
export function chosenKind(): ExportKind {
  const { session } = get();
  const { kind, kindFor } = useExportSizes.getState();
  return kind !== null && kindFor === (session?.id ?? null) ? kind : inputKind(session?.files ?? []);
}

/** Picks the format the totals' "File size" compares. */
export function chooseExportKind(kind: ExportKind): void {
  useExportSizes.setState({ kind, kindFor: get().session?.id ?? null });
}

/**
 * Bytes of the files the open model was read from (the session's `bytes`, else the TF.js loader's
 * record of model.json + shards): what "File size" and every export are compared with.
 */
export function openedBytes(): number | undefined {
  const { session } = get();
  if (!session) return undefined;
  const own = (session as { bytes?: unknown }).bytes;
  if (typeof own === 'number') return own;
  return sourceStorageOf(getModel(session.id).opened.artifacts)?.bytes;
}

function sizesKey(quantize: TfjsQuantization): string {
  const { session, planKey } = get();
  return `${session?.id ?? ''}|${planKey}|${quantize}`;
}

/**
 * Measures every download for the current plan by building it (the zip, the .keras and the .h5 as
 * they would be written), so the sizes shown are the bytes the user gets. Returns false when the plan,
 * quantization or model changed meanwhile (the result is dropped) or `signal` aborted.
 */
let measuring: { key: string; done: Promise<boolean> } | null = null;

export async function measureExportSizes(quantize: TfjsQuantization, signal?: AbortSignal): Promise<boolean> {
  const key = sizesKey(quantize);
  if (useExportSizes.getState().key === key) return true;
  // The export panel and the totals both ask; one measurement serves both.
  if (measuring?.key === key) return measuring.done;
  const done = measure(key, quantize, signal).finally(() => {
    if (measuring?.key === key) measuring = null;
  });
  measuring = { key, done };
  return done;
}

async function measure(key: string, quantize: TfjsQuantization, signal?: AbortSignal): Promise<boolean> {
  const { artifacts } = currentPrunedArtifacts();
  const source = openedSource();
  const tfjsBySize: Partial<Record<TfjsQuantization, number>> = {};
  for (const q of ['none', 'float16', 'uint8', 'uint16'] as const) {
    tfjsBySize[q] = tfjsModelSize(artifacts, { quantize: q, ...(source ? { source } : {}) });
  }
  const sizes: Partial<Record<ExportKind, number>> = {};
  for (const kind of availableKinds()) {
    if (signal?.aborted || sizesKey(quantize) !== key) return false;
    sizes[kind] =
      kind === 'tfjs-files' ? tfjsBySize[quantize]! : filesBytes(await buildDownload(kind, quantize));
    // Between formats, so a long .h5 build does not hold the page.
    await new Promise((r) => setTimeout(r, 0));
  }
  if (signal?.aborted || sizesKey(quantize) !== key) return false;
  useExportSizes.setState({ key, sizes, tfjsBySize });
  return true;
}

function openedSource() {
  const { session } = get();
  return session ? sourceStorageOf(getModel(session.id).opened.artifacts) : undefined;
}

/** One file to hand to the browser's download. */
export interface DownloadFile {
  name: string;
  bytes: Uint8Array;
  type: string;
}

/**
 * The pruned model's artifacts for the current plan: the recovered ones (BatchNorm re-estimated or
 * fine-tuned, provenance kept) when they were made for this very plan, else the weights of the open
 * model, sliced.
 */
export function currentPrunedArtifacts(): { artifacts: ModelArtifactsData; baseName: string } {
  const { session, plan, planKey } = get();
  if (!session) throw new Error('No model is open.');
  const entry = getModel(session.id);
  const artifacts =
    getRecovered(session.id, planKey) ??
    applyPlan(entry.opened.artifacts, plan, entry.opened.ir, entry.opened.graph).artifacts;
  const baseName = `${session.ir.name || 'model'}-pruned`.replace(/[^\w.-]+/g, '_');
  return { artifacts, baseName };
}

/**
 * Builds the download for one export kind: TF.js (one zip, or model.json + shards; weights stored as
 * `quantize` says, uint8/uint16 on the opened model's grid where the values allow), a Keras 3 `.keras`
 * archive, or a Keras 2 `.h5`. Provenance travels in each format's metadata.
 */
export async function buildDownload(
  kind: ExportKind,
  quantize: TfjsQuantization = 'none',
): Promise<DownloadFile[]> {
  const { artifacts, baseName } = currentPrunedArtifacts();
  if (kind === 'onnx') {
    // The user's own ONNX file with only its initializers sliced, and the plan beside it.
    const source = getModel(get().session!.id).sourceFiles ?? [];
    return writeOnnx(source, artifacts).map((f) => {
      const onnxFile = f.path.endsWith('.onnx');
      return {
        name: onnxFile ? `${baseName}.onnx` : `${baseName}.prunelab.json`,
        bytes: f.bytes,
        type: onnxFile ? 'application/octet-stream' : 'application/json',
      };
    });
  }
  if (kind === 'keras') {
    return [{ name: `${baseName}.keras`, bytes: await writeKerasV3(artifacts), type: 'application/zip' }];
  }
  if (kind === 'h5') {
    return [{ name: `${baseName}.h5`, bytes: await writeKerasH5(artifacts), type: 'application/x-hdf5' }];
  }
  const source = openedSource();
  const files = writeTfjsModel(artifacts, { quantize, ...(source ? { source } : {}) });
  if (kind === 'tfjs-files') {
    return files.map((f) => ({ name: f.path, bytes: f.bytes, type: 'application/octet-stream' }));
  }
  const bytes = await zipFilesAsync(files.map((f) => ({ path: `${baseName}/${f.path}`, bytes: f.bytes })));
  return [{ name: `${baseName}.zip`, bytes, type: 'application/zip' }];
}

/**
 * Builds a download as the 'export' job (one status, errors shown by the export panel); returns the
 * files, or undefined when it failed or another export runs.
 */
export function runExport(
  kind: ExportKind,
  quantize: TfjsQuantization = 'none',
): Promise<DownloadFile[] | undefined> {
  chooseExportKind(kind);
  return runJob('export', () => buildDownload(kind, quantize), {
    planKey: get().planKey,
    label: `Building the ${kind === 'tfjs-zip' ? '.zip' : kind === 'tfjs-files' ? 'TF.js files' : `.${kind}`}`,
  });
}

/** The current plan as a JSON file that names the model it was made for (its fingerprint). */
export function planFileJson(): string {
  const { session, plan } = get();
  if (!session) throw new Error('No model is open.');
  const withModel: PruningPlan = {
    ...plan,
    model: { fingerprint: modelFingerprint(session.ir), name: session.name },
  };
  return JSON.stringify(withModel, null, 2);
}

/**
 * Opens a saved plan file on the open model: refused, with the reason, when it was made for another
 * model or does not fit this one; the current plan stays as it was then.
 */
export function openPlanFile(text: string, fileName: string): boolean {
  const { session } = get();
  if (!session) return false;
  let plan: PruningPlan;
  try {
    plan = parsePlanFile(text, fileName, {
      graph: session.graph,
      fingerprint: modelFingerprint(session.ir),
      modelName: session.name,
    });
  } catch (e) {
    const code = isModelLoadError(e) ? e.code : 'BAD_PLAN';
    set({ loadError: { code, message: e instanceof Error ? e.message : String(e), files: [fileName] } });
    return false;
  }
  commitPlan({ version: 1, remove: plan.remove }, `open plan file ${fileName}`, {
    loadError: null,
    notice: `Opened plan ${fileName}.`,
  });
  return true;
}
