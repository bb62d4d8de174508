import type { JobProgress } from '../../state/jobs';

/** "about 12 s left" / "about 3 min left", or '' before an estimate exists. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds < 1) return 'less than a second left';
  if (seconds < 90) return `about ${Math.round(seconds)} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

interface Props {
  /** The job in words, e.g. "Sensitivity analysis": names the progress bar and the Cancel button. */
  name: string;
  job: JobProgress;
  /** What a step is when the job has no label of its own (e.g. 'evaluations'). */
  unit: string;
  onCancel: () => void;
  /** Said after a Cancel, e.g. that partial results are kept. */
  cancelledText?: string;
  /** The plan on screen: a job that runs for another one says so. */
  planKey?: string;
}

/**
 * A long job's progress: what it does, steps done of all, time left, a progress bar and Cancel
 * while it runs; a status line once it was cancelled or failed.
 */
export function JobBar({ name, job, unit, onCancel, cancelledText, planKey }: Props) {
  if (job.status === 'running') {
    const other = planKey !== undefined && job.planKey !== null && job.planKey !== planKey;
    const scoring = job.label?.startsWith('Scoring') ?? false;
    const steps =
      job.total > 0 ? `: ${job.done} of ${job.total} ${scoring ? 'samples' : unit}` : ': starting';
    const eta = formatEta(job.etaSeconds);
    return (
      <div className="job-bar" role="group" aria-label={`${name} job`}>
        <span className="job-text" data-testid={`job-${name.toLowerCase().replace(/\W+/g, '-')}`}>
          {job.label ?? name}
          {steps}
          {eta ? `, ${eta}` : ''}
          {other ? ' (for another plan in the history: its results are kept under it)' : ''}
        </span>
        <progress aria-label={`${name} progress`} max={job.total || 1} value={job.done} />
        <button type="button" onClick={onCancel} aria-label={`Cancel ${name.toLowerCase()}`}>
          Cancel
        </button>
      </div>
    );
  }
  if (job.status === 'cancelled') {
    return (
      <p role="status" className="job-status">
        {name} cancelled.{cancelledText ? ` ${cancelledText}` : ''}
      </p>
    );
  }
  if (job.status === 'error') {
    return (
      <p role="alert" className="job-status error">
        {name} failed: {job.error}
      </p>
    );
  }
  return null;
}
