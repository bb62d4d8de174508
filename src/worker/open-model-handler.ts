/**
 * What the open-model worker does with a request, apart from `self`, so that Node tests can run the very
 * same code across a `structuredClone` boundary. The model comes back with its weight buffers
 * transferred (the worker has no further use for them); any failure comes back as a `failed` message,
 * so the page always gets a typed answer and the worker stays usable.
 */
import { loadModel } from '../core/load';
import { serializeError, transferablesOf, type WorkerRequest, type WorkerResponse } from './protocol';

/** Posts one message, transferring the listed buffers. */
export type Post = (message: WorkerResponse, transfer: Transferable[]) => void;

/** Answers one request: `progress`, then `opened` or `failed` with the request's id. */
export async function answerRequest(request: WorkerRequest, post: Post): Promise<void> {
  switch (request.type) {
    case 'open': {
      const { id } = request;
      try {
        post({ type: 'progress', id, phase: 'parsing' }, []);
        const model = await loadModel(request.files);
        post({ type: 'progress', id, phase: 'receiving' }, []);
        post({ type: 'opened', id, model }, transferablesOf(model));
      } catch (e) {
        // Also catches a DataCloneError from posting a result that is not plain data.
        post({ type: 'failed', id, error: serializeError(e) }, []);
      }
      return;
    }
  }
}
