import type { ModelArtifactsData } from '../core/ir/artifacts';
import { applyPlan } from '../core/surgery/apply-plan';
import { writeTfjsModel, type TfjsQuantization } from '../core/io/export-tfjs';
import { writeKerasV3 } from '../core/io/keras-v3';
import { writeKerasH5 } from '../core/io/keras-h5';
import { zipFiles } from '../core/io/zip';
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

export type ExportKind = 'tfjs-zip' | 'tfjs-files' | 'keras' | 'h5';

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
 * Builds the download for one export kind: TF.js (one zip, or model.json + shards; weights optionally
 * quantized), a Keras 3 `.keras` archive, or a Keras 2 `.h5`. Provenance travels in each format's metadata.
 */
export async function buildDownload(
  kind: ExportKind,
  quantize: TfjsQuantization = 'none',
): Promise<DownloadFile[]> {
  const { artifacts, baseName } = currentPrunedArtifacts();
  if (kind === 'keras') {
    return [{ name: `${baseName}.keras`, bytes: await writeKerasV3(artifacts), type: 'application/zip' }];
  }
  if (kind === 'h5') {
    return [{ name: `${baseName}.h5`, bytes: await writeKerasH5(artifacts), type: 'application/x-hdf5' }];
  }
  const files = writeTfjsModel(artifacts, { quantize });
  if (kind === 'tfjs-files') {
    return files.map((f) => ({ name: f.path, bytes: f.bytes, type: 'application/octet-stream' }));
  }
  const bytes = zipFiles(files.map((f) => ({ path: `${baseName}/${f.path}`, bytes: f.bytes })));
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
