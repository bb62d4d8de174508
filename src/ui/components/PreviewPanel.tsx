import { cancelPreview, runPreview } from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { formatPercent } from '../format';

/** Original vs pruned accuracy and agreement on the sample set, with progress and Cancel. */
export function PreviewPanel() {
  const sampleSet = useWorkbench((s) => s.sampleSet);
  const preview = useWorkbench((s) => s.preview);
  const plan = useWorkbench((s) => s.plan);
  const stale = preview.status === 'done' && preview.planKey !== JSON.stringify(plan);
  const running = preview.status === 'running';
  return (
    <section className="panel preview" aria-label="Accuracy preview">
      <h2>Accuracy preview</h2>
      {sampleSet ? (
        <p className="hint">
          Sample set: {sampleSet.name}, {sampleSet.count} images {sampleSet.shape.join('×')}
          {sampleSet.labelled ? ', labelled' : ', unlabelled'}.
        </p>
      ) : (
        <p className="hint">Drop a sample set (.plss) to measure accuracy.</p>
      )}
      <div className="row">
        <button type="button" disabled={!sampleSet || running} onClick={() => void runPreview()}>
          Preview accuracy
        </button>
        {running && (
          <button type="button" onClick={cancelPreview}>
            Cancel
          </button>
        )}
      </div>
      {running && (
        <progress
          aria-label="Preview progress"
          max={preview.total || 1}
          value={preview.done}
          data-testid="preview-progress"
        />
      )}
      {preview.status === 'cancelled' && <p role="status">Preview cancelled.</p>}
      {preview.status === 'error' && <p role="alert">Preview failed: {preview.error}</p>}
      {preview.status === 'done' && (
        <>
          <table className="preview-results">
            <tbody>
              <tr>
                <th scope="row">Original</th>
                <td data-testid="acc-original" data-value={preview.original ?? ''}>
                  {formatPercent(preview.original, 2)}
                </td>
              </tr>
              <tr>
                <th scope="row">Pruned</th>
                <td data-testid="acc-pruned" data-value={preview.pruned ?? ''}>
                  {formatPercent(preview.pruned, 2)}
                </td>
              </tr>
              <tr>
                <th scope="row">Top-1 agreement</th>
                <td data-testid="agreement" data-value={preview.agreement ?? ''}>
                  {formatPercent(preview.agreement, 2)}
                </td>
              </tr>
            </tbody>
          </table>
          <p className="hint">
            On {preview.samples} samples{stale ? ' — the selection has changed since; preview again.' : '.'}{' '}
            Accuracy often collapses right after pruning and comes back with fine-tuning (Torch-Pruning's
            ResNet-56: 93.5% → 28.1% → 92.9%); that is normal.
          </p>
        </>
      )}
    </section>
  );
}
