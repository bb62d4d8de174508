/**
 * The open-model worker: parses and validates dropped model files (loadModel: files -> artifacts -> IR
 * -> channel graph) off the page's thread, so a runaway parse can be stopped by terminating it. A thin
 * message switch; the work is in open-model-handler.ts and the protocol in protocol.ts. Built by Vite
 * as a module worker (`new Worker(new URL(...), { type: 'module' })` in open-model-client.ts); h5wasm,
 * imported on first .h5/.keras, becomes its own chunk with the wasm embedded. No tfjs backend is needed.
 */
import { answerRequest } from './open-model-handler';
import type { WorkerRequest, WorkerResponse } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;

function post(message: WorkerResponse, transfer: Transferable[]): void {
  scope.postMessage(message, transfer);
}

scope.addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
  void answerRequest(event.data, post);
});

// Our code has loaded: from now on an error event means the worker died, not that it could not start.
post({ type: 'ready' }, []);
