/**
 * The messages between the page and the open-model worker (open-model.worker.ts), and how errors and
 * results cross that boundary. Structured clone keeps plain data, typed arrays and shared references,
 * but turns a `ModelLoadError` into a bare `Error` without its `code`, `file` and `layer`: errors travel
 * as `SerializedError` and are re-created on the page side with `deserializeError`.
 *
 * One request, `open`, answered by `progress`* then exactly one `opened` or `failed` with the same id.
 * The worker says `ready` once, when its code has loaded: an `error` event before that means the worker
 * could not start (the client then runs the loader on the page's thread); after it, that the worker died.
 */
import type { InputFile } from '../core/ir/artifacts';
import type { OpenedModel } from '../core/load';
import { ModelLoadError, isModelLoadError, type ModelLoadErrorCode } from '../core/io/errors';

/** Where an open has got to, for a status line: the worker is starting, parsing, or the result is on its way back. */
export type OpenPhase = 'starting' | 'parsing' | 'receiving' | 'parsing on the page';

/** Page -> worker. */
export interface OpenRequest {
  type: 'open';
  id: number;
  files: InputFile[];
}

export type WorkerRequest = OpenRequest;

/** Worker -> page. */
export type WorkerResponse =
  | { type: 'ready' }
  | { type: 'progress'; id: number; phase: OpenPhase }
  | { type: 'opened'; id: number; model: OpenedModel }
  | { type: 'failed'; id: number; error: SerializedError };

/** An error as plain data: a `ModelLoadError` keeps its code, message, file and layer. */
export interface SerializedError {
  name: string;
  message: string;
  code?: ModelLoadErrorCode;
  file?: string;
  layer?: string;
  stack?: string;
}

/** Any thrown value -> plain data that survives `postMessage` (a non-Error becomes its string). */
export function serializeError(e: unknown): SerializedError {
  if (isModelLoadError(e)) {
    return {
      name: 'ModelLoadError',
      message: e.message,
      code: e.code,
      ...(e.file !== undefined ? { file: e.file } : {}),
      ...(e.layer !== undefined ? { layer: e.layer } : {}),
      ...(e.stack !== undefined ? { stack: e.stack } : {}),
    };
  }
  if (e instanceof Error) {
    return { name: e.name, message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

/** Plain data -> an Error again: a `ModelLoadError` (same code, message, file, layer) when it was one. */
export function deserializeError(s: SerializedError): Error {
  const error =
    s.code !== undefined
      ? new ModelLoadError(s.code, s.message, {
          ...(s.file !== undefined ? { file: s.file } : {}),
          ...(s.layer !== undefined ? { layer: s.layer } : {}),
        })
      : Object.assign(new Error(s.message), { name: s.name });
  // Keep where it was thrown (inside the worker) for a developer's console, not this re-throw site.
  if (s.stack !== undefined) error.stack = s.stack;
  return error;
}

/**
 * The distinct ArrayBuffers behind an opened model's weights, to transfer instead of copy. Several
 * weights may view one buffer (a shard, a file's bytes): listing a buffer twice makes postMessage throw.
 */
export function transferablesOf(model: OpenedModel): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const w of model.artifacts.weights) {
    if (w.values.buffer instanceof ArrayBuffer) buffers.add(w.values.buffer);
  }
  return [...buffers];
}

/** Total bytes of the files, for time limits and for whether to offer Cancel. */
export function totalBytes(files: readonly InputFile[]): number {
  return files.reduce((sum, f) => sum + f.bytes.byteLength, 0);
}
