import { currentResults } from '../../state/plan-slice';
import { useWorkbench } from '../../state/store';

/** Says, next to the downloads, which weights the download of the plan on screen holds. */
export function DownloadHolds() {
  const steps = useWorkbench((s) => currentResults(s)?.recovered);
  const removed = useWorkbench((s) => s.planKey !== '');
  return (
    <p className="hint download-holds" role="status" data-testid="download-holds">
      {steps?.length
        ? `The download holds this plan's recovered model (${steps.join(', ')}).`
        : removed
          ? 'The download holds the pruned model of this plan (not fine-tuned).'
          : 'Nothing ticked yet: the download holds the model as it came in.'}
    </p>
  );
}
