import { runPreview } from '../../state/actions';
import { cancelJob } from '../../state/jobs';
import { currentResults } from '../../state/plan-slice';
import { useWorkbench } from '../../state/store';
import { JobBar } from './JobBar';
import { formatPercent } from '../format';

/** Original vs pruned accuracy and agreement on the sample set, with progress and Cancel. */
export function PreviewPanel() {
  const sampleSet = useWorkbench((s) => s.sampleSet);
  const preview = useWorkbench((s) => currentResults(s)?.preview);
  const job = useWorkbench((s) => s.jobs.preview);
  const planKey = useWorkbench((s) => s.planKey);
  const running = job.status === 'running';
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
      </div>
      <JobBar
        name="Preview"
        job={job}
        unit="samples"
        planKey={planKey}
        onCancel={() => cancelJob('preview')}
      />
      {preview && (
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
            On {preview.samples} samples
            {preview.quantize !== 'none' ? `, pruned weights quantized to ${preview.quantize}` : ''}. Accuracy
            often collapses right after pruning and comes back with fine-tuning (Torch-Pruning's ResNet-56:
            93.5% → 28.1% → 92.9%); that is normal.
          </p>
        </>
      )}
    </section>
  );
}
