/**
 * The jobs slice of the store as plain data: the one status shape of every long job (jobs.ts runs
 * them). Kept apart from jobs.ts so that the store can hold it without importing the runner.
 */
export type JobStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'error';

export type JobKind =
  'scoring' | 'sensitivity' | 'sweep' | 'preview' | 'compare' | 'bn' | 'finetune' | 'export' | 'latency';

/** Progress of one long job: the one status shape every panel shows. */
export interface JobProgress {
  status: JobStatus;
  /** Steps done and in all (samples, evaluations, batches). */
  done: number;
  total: number;
  /** Estimated seconds left, null until the first step is done. */
  etaSeconds: number | null;
  startedAt: number | null;
  error: string | null;
  /** What the job is doing now, e.g. 'Scoring with Taylor'. */
  label: string | null;
  /** Key of the plan the job ran for (core/plan/key.ts), null for plan-independent jobs. */
  planKey: string | null;
}

export const idleJob: JobProgress = {
  status: 'idle',
  done: 0,
  total: 0,
  etaSeconds: null,
  startedAt: null,
  error: null,
  label: null,
  planKey: null,
};

export const JOB_KINDS: readonly JobKind[] = [
  'scoring',
  'sensitivity',
  'sweep',
  'preview',
  'compare',
  'bn',
  'finetune',
  'export',
  'latency',
];

export const initialJobs: Record<JobKind, JobProgress> = Object.fromEntries(
  JOB_KINDS.map((k) => [k, idleJob]),
) as Record<JobKind, JobProgress>;
