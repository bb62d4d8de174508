import { openPlanFile, runExport, planFileJson, type ExportKind } from '../../state/export-actions';
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
/** Bytes per weight value for each TF.js storage choice (scale/min per weight are in model.json). */
const BYTES: Record<Quantize, number> = { none: 4, float16: 2, uint16: 2, uint8: 1 };
const LABELS: Record<Quantize, string> = {
  none: 'float32 (exact)',
  float16: 'float16',
  uint16: 'uint16 (affine)',
  uint8: 'uint8 (affine)',
};

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
  const params = totals?.after.params ?? 0;
  return (
    <section className="panel export" aria-label="Download">
      <h2>Download</h2>
      {totals && (
        <p className="hint">
          Weights {formatBytes(totals.before.bytes)} → {formatBytes(totals.after.bytes)} (float32). Layer
          names and order are kept; the <code>prunelab</code> metadata records which original filters were
          kept.
        </p>
      )}
      <label>
        TF.js weights{' '}
        <select
          aria-label="TF.js weight quantization"
          value={quantize}
          onChange={(e) => useWorkbench.setState({ exportQuantize: e.target.value as Quantize })}
        >
          {(Object.keys(BYTES) as Quantize[]).map((q) => (
            <option key={q} value={q}>
              {LABELS[q]}: ≈{formatBytes(params * BYTES[q])}
            </option>
          ))}
        </select>
      </label>
      {quantize !== 'none' && (
        <p className="hint">The accuracy preview runs the pruned model with these quantized weights.</p>
      )}
      <div className="row">
        <button type="button" disabled={busy !== null} onClick={run('tfjs-zip')}>
          Download .zip
        </button>
        <button type="button" disabled={busy !== null} onClick={run('tfjs-files')}>
          Download model.json + weights
        </button>
        <button type="button" disabled={busy !== null} onClick={run('keras')}>
          Download .keras
        </button>
        <button type="button" disabled={busy !== null} onClick={run('h5')}>
          Download .h5
        </button>
      </div>
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
