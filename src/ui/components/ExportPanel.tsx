import { useEffect } from 'react';
import {
  chooseExportKind,
  chosenKind,
  availableKinds,
  measureExportSizes,
  openPlanFile,
  openedBytes,
  runExport,
  planFileJson,
  useExportSizes,
  type ExportKind,
} from '../../state/export-actions';
import { useTotals } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
import { formatBytes } from '../format';

function download(bytes: Uint8Array | string, fileName: string, type: string): void {
  const blob = new Blob([bytes as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

type Quantize = 'none' | 'float16' | 'uint8' | 'uint16';
const QUANTIZE: readonly Quantize[] = ['none', 'float16', 'uint16', 'uint8'];
const KIND_LABELS: Record<ExportKind, string> = {
  'tfjs-zip': 'TF.js, one .zip',
  'tfjs-files': 'TF.js, separate files',
  keras: 'Keras 3 .keras',
  h5: 'Keras 2 .h5',
  onnx: 'ONNX (your file, sliced)',
};
/** How long the plan must rest before every download is built again to measure it. */
const MEASURE_DELAY_MS = 300;
/** The buttons' names (e2e specs find them by these). */
const BUTTONS: Record<ExportKind, string> = {
  'tfjs-zip': 'Download .zip',
  'tfjs-files': 'Download model.json + weights as separate files',
  keras: 'Download .keras',
  h5: 'Download .h5',
  onnx: 'Download .onnx',
};
const LABELS: Record<Quantize, string> = {
  none: 'float32 (exact)',
  float16: 'float16',
  uint16: 'uint16 (affine)',
  uint8: 'uint8 (affine)',
};

/**
 * Measures every download a moment after the plan, the quantization or the model changes (the
 * export panel and the totals' File size row both call it; one measurement serves both).
 */
export function useMeasuredExportSizes(): void {
  const quantize = useWorkbench((s) => s.exportQuantize);
  const planKey = useWorkbench((s) => s.planKey);
  const sessionId = useWorkbench((s) => s.session?.id);
  useEffect(() => {
    if (sessionId === undefined) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      measureExportSizes(quantize, controller.signal).catch(() => undefined);
    }, MEASURE_DELAY_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [sessionId, planKey, quantize]);
}

/** Downloads the pruned model (TF.js zip or files, optionally quantized; Keras .keras or .h5) and the plan. */
export function ExportPanel() {
  const totals = useTotals();
  const quantize = useWorkbench((s) => s.exportQuantize);
  const job = useWorkbench((s) => s.jobs.export);
  const busy = job.status === 'running' ? job.label : null;
  const error = job.status === 'error' ? job.error : null;
  const run = (kind: ExportKind) => () => void runAsync(kind);
  const runAsync = async (kind: ExportKind) => {
    const files = await runExport(kind, kind.startsWith('tfjs') ? quantize : 'none');
    for (const f of files ?? []) download(f.bytes, f.name, f.type);
  };
  const planKey = useWorkbench((s) => s.planKey);
  const sessionId = useWorkbench((s) => s.session?.id);
  const sizes = useExportSizes((s) => s.sizes);
  const tfjsBySize = useExportSizes((s) => s.tfjsBySize);
  const measuredKey = useExportSizes((s) => s.key);
  useExportSizes((s) => s.kind);
  const kind = chosenKind();
  useMeasuredExportSizes();
  const fresh = measuredKey === `${sessionId ?? ''}|${planKey}|${quantize}`;
  const opened = openedBytes();
  const size = (n: number | undefined) => (n === undefined || !fresh ? '…' : formatBytes(n));
  return (
    <section className="panel export" aria-label="Download">
      <h2>Download</h2>
      {totals && (
        <p className="hint">
          {opened !== undefined && <>Opened files {formatBytes(opened)}. </>}Layer names and order are kept;
          the <code>prunelab</code> metadata records which original filters were kept and which version of
          PruneLab wrote the file.
        </p>
      )}
      <label>
        Format{' '}
        <select
          aria-label="Download format"
          value={kind}
          onChange={(e) => chooseExportKind(e.target.value as ExportKind)}
        >
          {availableKinds().map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}: {size(sizes[k])}
            </option>
          ))}
        </select>
      </label>
      <label>
        TF.js weights{' '}
        <select
          aria-label="TF.js weight quantization"
          value={quantize}
          onChange={(e) => useWorkbench.setState({ exportQuantize: e.target.value as Quantize })}
        >
          {QUANTIZE.map((q) => (
            <option key={q} value={q}>
              {LABELS[q]}: {size(tfjsBySize[q])}
            </option>
          ))}
        </select>
      </label>
      {quantize !== 'none' && (
        <p className="hint">The accuracy preview runs the pruned model with these quantized weights.</p>
      )}
      <div className="row">
        <button type="button" disabled={busy !== null} onClick={run(kind)}>
          Download {KIND_LABELS[kind]}
        </button>
      </div>
      <ul className="export-sizes" aria-label="Download sizes">
        {availableKinds().map((k) => (
          <li key={k}>
            <button type="button" disabled={busy !== null} onClick={run(k)}>
              {BUTTONS[k]}
            </button>{' '}
            <span data-testid={`export-size-${k}`} data-value={fresh ? sizes[k] : undefined}>
              {size(sizes[k])}
            </span>
          </li>
        ))}
      </ul>
      {busy && <p role="status">{busy}…</p>}
      <div className="row">
        <button
          type="button"
          onClick={() => download(planFileJson(), 'pruning-plan.json', 'application/json')}
        >
          Save plan
        </button>
        <label className="button">
          Open plan…
          <input
            type="file"
            accept=".json,application/json"
            aria-label="Open a saved plan"
            onChange={(e) => {
              const input = e.currentTarget;
              const file = input.files?.[0];
              if (file)
                void file
                  .text()
                  .then((t) => openPlanFile(t, file.name))
                  .finally(() => (input.value = ''));
            }}
          />
        </label>
      </div>
      {error && <p role="alert">{error}</p>}
    </section>
  );
}
