import { useState } from 'react';
import { buildExport, buildExportZip, planJson } from '../../state/actions';
import { useTotals } from '../../state/selectors';
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

/** Downloads the pruned model (model.json + shards, or one zip) and the plan. */
export function ExportPanel() {
  const totals = useTotals();
  const [error, setError] = useState<string | null>(null);
  const guard = (fn: () => void) => () => {
    try {
      setError(null);
      fn();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section className="panel export" aria-label="Download">
      <h2>Download</h2>
      {totals && (
        <p className="hint">
          Weights {formatBytes(totals.before.bytes)} → {formatBytes(totals.after.bytes)}. Layer names and
          order are kept; <code>userDefinedMetadata.prunelab</code> records which original filters were kept.
        </p>
      )}
      <div className="row">
        <button
          type="button"
          onClick={guard(() => {
            const { bytes, fileName } = buildExportZip();
            download(bytes, fileName, 'application/zip');
          })}
        >
          Download .zip
        </button>
        <button
          type="button"
          onClick={guard(() => {
            for (const f of buildExport().files) download(f.bytes, f.path, 'application/octet-stream');
          })}
        >
          Download model.json + weights
        </button>
        <button
          type="button"
          onClick={guard(() => download(planJson(), 'pruning-plan.json', 'application/json'))}
        >
          Save plan
        </button>
      </div>
      {error && <p role="alert">{error}</p>}
    </section>
  );
}
