/**
 * The one job runner (STYLE.md #13). Every long job of the page (scores, sensitivity, sweep, preview,
 * accuracy view, BatchNorm re-estimation, fine-tuning, export) goes through `runJob`, which owns its
 * status, progress, time left, Cancel and error, and records the plan key it ran for. Results are
 * kept by their owners (the plan's results, the analysis slice); the job's status lives here.
 */
import type { WorkbenchState } from './store';
import { useWorkbench } from './store';

import { idleJob, JOB_KINDS, type JobKind, type JobProgress } from './jobs-slice';

export {
  idleJob,
  initialJobs,
  JOB_KINDS,
  type JobKind,
  type JobProgress,
  type JobStatus,
} from './jobs-slice';

/** What a job's function gets: the signal to honour and a way to report progress. */
export interface JobContext {
  signal: AbortSignal;
  /** Reports steps done of all (the time left is estimated from it), and optionally what runs now. */
  progress: (done: number, total: number, label?: string | null) => void;
  /** Sets only the label ("Scoring with Taylor", "Evaluating"). */
  label: (label: string | null) => void;
}

export interface RunJobOptions {
  /** The plan the job runs for (recorded with its status). */
  planKey?: string | null;
  label?: string | null;
  /** A job of this kind already running is cancelled and replaced (default: this one is refused). */
  replace?: boolean;
}

const controllers = new Map<JobKind, AbortController>();

function patchJob(kind: JobKind, patch: Partial<JobProgress>): void {
  useWorkbench.setState((s) => ({ jobs: { ...s.jobs, [kind]: { ...s.jobs[kind], ...patch } } }));
}

/** True for the error a cancelled job throws. */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/**
 * Runs `fn` as the job `kind`: status 'running' with progress while it runs, then 'done', 'cancelled'
 * (an AbortError, or a finish after Cancel) or 'error' with the message. Returns what `fn` returned,
 * or undefined when it was refused, cancelled, replaced or failed. A job replaced by a newer one of
 * its kind never writes its status over the newer one's.
 */
export async function runJob<T>(
  kind: JobKind,
  fn: (ctx: JobContext) => Promise<T>,
  opts: RunJobOptions = {},
): Promise<T | undefined> {
  const running = controllers.get(kind);
  if (running) {
    if (!opts.replace) return undefined;
    running.abort();
  }
  const controller = new AbortController();
  controllers.set(kind, controller);
  const startedAt = Date.now();
  patchJob(kind, {
    ...idleJob,
    status: 'running',
    startedAt,
    label: opts.label ?? null,
    planKey: opts.planKey ?? null,
  });
  const mine = () => controllers.get(kind) === controller;
  const ctx: JobContext = {
    signal: controller.signal,
    progress: (done, total, label) => {
      if (!mine()) return;
      const elapsed = (Date.now() - startedAt) / 1000;
      const etaSeconds = done > 0 && total >= done ? (elapsed / done) * (total - done) : null;
      patchJob(kind, { done, total, etaSeconds, ...(label !== undefined ? { label } : {}) });
    },
    label: (label) => {
      if (mine()) patchJob(kind, { label });
    },
  };
  try {
    const result = await fn(ctx);
    if (!mine()) return undefined;
    if (controller.signal.aborted) {
      patchJob(kind, { status: 'cancelled', etaSeconds: null });
      return undefined;
    }
    patchJob(kind, { status: 'done', etaSeconds: null, label: null });
    return result;
  } catch (e) {
    if (!mine()) return undefined;
    patchJob(
      kind,
      isAbortError(e) || controller.signal.aborted
        ? { status: 'cancelled', etaSeconds: null }
        : { status: 'error', etaSeconds: null, error: e instanceof Error ? e.message : String(e) },
    );
    return undefined;
  } finally {
    if (mine()) controllers.delete(kind);
  }
}

/** Cancels the running job of this kind (the job decides what it keeps: fine-tuning keeps its best weights). */
export function cancelJob(kind: JobKind): void {
  controllers.get(kind)?.abort();
}

/** Cancels every running job and forgets their status (a new model or sample set was opened). */
export function resetJobs(kinds: readonly JobKind[] = JOB_KINDS): void {
  for (const k of kinds) {
    controllers.get(k)?.abort();
    controllers.delete(k);
  }
  useWorkbench.setState((s) => ({
    jobs: { ...s.jobs, ...Object.fromEntries(kinds.map((k) => [k, idleJob])) },
  }));
}

/** True while a job of this kind runs. */
export function isRunning(s: WorkbenchState, kind: JobKind): boolean {
  return s.jobs[kind].status === 'running';
}
