/**
 * Opens dropped model files off the page's thread: `loadModel` runs in a module worker that is
 * terminated when the time limit passes or the user cancels, so a hostile file (an HDF5 link cycle, a
 * parse that never ends) cannot freeze the tab. Where there is no `Worker` (Node, vitest, the CLI) or
 * the worker cannot start, the loader runs on the calling thread instead (`ranIn: 'thread'`); the time
 * limit and the signal still settle the promise there, but cannot stop a parse already running.
 *
 * The files are copied into the worker, never detached: the caller keeps its bytes (to retry with a
 * longer limit, or open them again) at the cost of one memcpy of the input, a few ms for 10 MB. Pass
 * `transfer: true` to hand the buffers over instead (the caller's `bytes` are then empty).
 * The opened model's weight buffers are transferred back, not copied.
 *
 * One idle worker is kept for the next open (so h5wasm is not started again for each .h5), for
 * `WORKER_IDLE_MS`, and only after inputs under `WORKER_REUSE_MAX_BYTES` (HDF5's wasm heap never
 * shrinks); a worker that timed out, was cancelled or died is terminated and never reused.
 */
import type { InputFile } from '../core/ir/artifacts';
import { loadModel, type OpenedModel } from '../core/load';
import { ModelLoadError } from '../core/io/errors';
import {
  deserializeError,
  totalBytes,
  type OpenPhase,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol';

/** The time limit's base: generous for real models, whose parse takes well under a second per 10 MB. */
export const DEFAULT_LOAD_TIMEOUT_MS = 60_000;
/** Added to the limit for each MiB of input, so a 500 MB VGG gets 60 s + 500 s. */
export const LOAD_TIMEOUT_MS_PER_MIB = 1_000;
/** From this total size on, opening is "large": the page should show Cancel at once... */
export const LARGE_INPUT_BYTES = 8 * 1024 * 1024;
/** ...and for smaller inputs once opening has taken this long (no Cancel flashing past on a 50 ms open). */
export const SHOW_CANCEL_AFTER_MS = 1_000;
/** How long an idle worker is kept for the next open. */
export const WORKER_IDLE_MS = 30_000;
/** A worker that opened more than this is not reused (its wasm heap stays as large as the biggest file). */
export const WORKER_REUSE_MAX_BYTES = 32 * 1024 * 1024;

const MIB = 1024 * 1024;

/** The default time limit for opening files of this total size: 60 s plus 1 s per MiB. */
export function defaultLoadTimeoutMs(bytes: number): number {
  return DEFAULT_LOAD_TIMEOUT_MS + Math.ceil(bytes / MIB) * LOAD_TIMEOUT_MS_PER_MIB;
}

/**
 * The test hook: `?loadTimeoutMs=250` in the page's URL lowers the limit (e2e tests); `undefined` when
 * absent or not a positive number. The page reads it at each open: `parseLoadTimeoutParam(location.search)`.
 */
export function parseLoadTimeoutParam(search: string): number | undefined {
  const raw = new URLSearchParams(search).get('loadTimeoutMs');
  if (raw === null || raw.trim() === '') return undefined;
  const ms = Number(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export interface OpenOffThreadOptions {
  /** Aborting rejects with `ModelLoadError('CANCELLED')` and terminates the worker. */
  signal?: AbortSignal;
  /** Time limit in ms (default `defaultLoadTimeoutMs(total bytes)`); past it, `ModelLoadError('TIMEOUT')`. */
  timeoutMs?: number;
  /** Called as the open moves on: starting (a new worker), parsing, receiving; or parsing on the page. */
  onProgress?: (phase: OpenPhase) => void;
  /** Hand the input buffers to the worker instead of copying them (detaches the caller's `bytes`). */
  transfer?: boolean;
}

/** An opened model, and where it was parsed: in the worker, or on the calling thread (no worker). */
export type OpenedOffThread = OpenedModel & { ranIn: 'worker' | 'thread' };

/** Thrown inside this module when the worker could not start: the caller falls back to the thread. */
class WorkerStartError extends Error {}

function quoteFiles(files: readonly InputFile[]): string {
  if (files.length === 0) return 'no files';
  const shown = files.slice(0, 3).map((f) => `'${f.path}'`);
  return files.length > 3 ? `${shown.join(', ')} and ${files.length - 3} more` : shown.join(', ');
}

function fileOf(files: readonly InputFile[]): { file?: string } {
  return files.length === 1 ? { file: files[0]!.path } : {};
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return s >= 10 ? `${Math.round(s)} s` : `${Number(s.toPrecision(2))} s`;
}

function timeoutError(files: readonly InputFile[], ms: number): ModelLoadError {
  return new ModelLoadError(
    'TIMEOUT',
    `Opening ${quoteFiles(files)} took longer than the ${formatSeconds(ms)} limit and was stopped; ` +
      'the file may be damaged or built to never end.',
    fileOf(files),
  );
}

function cancelledError(files: readonly InputFile[]): ModelLoadError {
  return new ModelLoadError('CANCELLED', `Opening ${quoteFiles(files)} was cancelled.`, fileOf(files));
}

let idle: { worker: Worker; timer: ReturnType<typeof setTimeout>; onError: () => void } | undefined;
let nextId = 1;

function takeIdleWorker(): Worker | undefined {
  if (!idle) return undefined;
  const { worker, timer, onError } = idle;
  clearTimeout(timer);
  worker.removeEventListener('error', onError);
  idle = undefined;
  return worker;
}

function parkWorker(worker: Worker, bytes: number): void {
  if (idle || bytes > WORKER_REUSE_MAX_BYTES) {
    worker.terminate();
    return;
  }
  // A worker that dies while idle is dropped, so the next open does not wait on it until the limit.
  const onError = () => releaseIdleWorker();
  worker.addEventListener('error', onError);
  idle = { worker, timer: setTimeout(releaseIdleWorker, WORKER_IDLE_MS), onError };
}

/** Terminates the idle worker, if any (frees its memory now; the next open starts a new one). */
export function releaseIdleWorker(): void {
  const worker = takeIdleWorker();
  worker?.terminate();
}

/**
 * Opens model files (model.json + shards, a folder, a zip, .h5, .keras) in a worker with a time limit
 * and Cancel; resolves with the same `OpenedModel` as `loadModel`, rejects with the loader's own
 * `ModelLoadError` (code, message, file, layer kept), or `TIMEOUT` / `CANCELLED`.
 */
export async function openModelOffThread(
  files: InputFile[],
  opts: OpenOffThreadOptions = {},
): Promise<OpenedOffThread> {
  if (opts.signal?.aborted) throw cancelledError(files);
  const bytes = totalBytes(files);
  const limitMs = opts.timeoutMs ?? defaultLoadTimeoutMs(bytes);
  const started = Date.now();
  if (typeof Worker !== 'function') return openOnThread(files, opts, limitMs);
  try {
    return await openInWorker(files, opts, limitMs, bytes);
  } catch (e) {
    if (!(e instanceof WorkerStartError)) throw e;
    console.info(
      `PruneLab: the open-model worker did not start (${e.message}); parsing on the page instead.`,
    );
    return openOnThread(files, opts, Math.max(0, limitMs - (Date.now() - started)));
  }
}

/** The fallback: `loadModel` here, raced against the limit and the signal (which cannot stop it). */
async function openOnThread(
  files: InputFile[],
  opts: OpenOffThreadOptions,
  limitMs: number,
): Promise<OpenedOffThread> {
  if (opts.signal?.aborted) throw cancelledError(files);
  opts.onProgress?.('parsing on the page');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError(files, limitMs)), limitMs);
    onAbort = () => reject(cancelledError(files));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const model = await Promise.race([loadModel(files), stop]);
    return { ...model, ranIn: 'thread' };
  } finally {
    clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
  }
}

function openInWorker(
  files: InputFile[],
  opts: OpenOffThreadOptions,
  limitMs: number,
  bytes: number,
): Promise<OpenedOffThread> {
  let worker = takeIdleWorker();
  let ready = worker !== undefined;
  if (!worker) {
    opts.onProgress?.('starting');
    try {
      worker = new Worker(new URL('./open-model.worker.ts', import.meta.url), {
        type: 'module',
        name: 'prunelab-open-model',
      });
    } catch (e) {
      return Promise.reject(new WorkerStartError(e instanceof Error ? e.message : String(e)));
    }
  }
  const w = worker;
  const id = nextId++;

  return new Promise<OpenedOffThread>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish(false);
      reject(timeoutError(files, limitMs));
    }, limitMs);
    const finish = (keepWorker: boolean) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      w.removeEventListener('message', onMessage);
      w.removeEventListener('error', onError);
      w.removeEventListener('messageerror', onMessageError);
      if (keepWorker) parkWorker(w, bytes);
      else w.terminate();
    };
    const onAbort = () => {
      finish(false);
      reject(cancelledError(files));
    };
    const onError = (event: Event) => {
      event.preventDefault();
      finish(false);
      const message = (event as Partial<ErrorEvent>).message;
      const detail = typeof message === 'string' && message !== '' ? message : 'no details';
      if (!ready) reject(new WorkerStartError(detail));
      else reject(new Error(`The background loader stopped while opening ${quoteFiles(files)}: ${detail}.`));
    };
    const onMessageError = () => {
      finish(false);
      reject(new Error(`The result of opening ${quoteFiles(files)} could not be received from the worker.`));
    };
    const onMessage = (event: MessageEvent<WorkerResponse>) => {
      const msg = event.data;
      if (msg.type === 'ready') {
        ready = true;
        return;
      }
      if (msg.id !== id) return;
      switch (msg.type) {
        case 'progress':
          opts.onProgress?.(msg.phase);
          return;
        case 'opened':
          finish(true);
          resolve({ ...msg.model, ranIn: 'worker' });
          return;
        case 'failed':
          finish(true);
          reject(deserializeError(msg.error));
          return;
      }
    };
    w.addEventListener('message', onMessage);
    w.addEventListener('error', onError);
    w.addEventListener('messageerror', onMessageError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    // Copy by default (slice makes an exact-size buffer even for a view into a larger one), then
    // transfer the copy; with `transfer`, hand over the caller's own buffers.
    const sent = files.map((f) => ({ path: f.path, bytes: opts.transfer ? f.bytes : f.bytes.slice() }));
    const transfer = [...new Set(sent.map((f) => f.bytes.buffer).filter((b) => b instanceof ArrayBuffer))];
    const request: WorkerRequest = { type: 'open', id, files: sent };
    try {
      w.postMessage(request, transfer);
    } catch (e) {
      finish(false);
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
