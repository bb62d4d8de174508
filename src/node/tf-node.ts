import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { registerWasmGradKernels } from '../core/tf/wasm-grad-kernels';

/**
 * Node-only backend setup (tfjs-node cannot install here; see FIELD-NOTES). The wasm backend reads its
 * `.wasm` binary with `fs` when `setWasmPaths` is given a directory prefix ending in a separator; the
 * threaded build is switched off (it needs worker blobs Node cannot load, and the machine is shared).
 */

let wasmPathsSet = false;

/** Absolute path of `@tensorflow/tfjs-backend-wasm/dist/` with a trailing separator, as `setWasmPaths` wants. */
export function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + sep;
}

/** Selects the tfjs backend in Node (wasm by default, with PruneLab's gradient kernels) and returns its name. */
export async function initNodeBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  if (name === 'wasm') {
    if (!wasmPathsSet && tf.findBackend('wasm') === null) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      setWasmPaths(wasmDistDir());
      wasmPathsSet = true;
    }
    registerWasmGradKernels();
  }
  // Not `tf.getBackend()` first: it would lazily initialise the highest-priority backend (wasm)
  // before its paths are known.
  if (!(await tf.setBackend(name))) throw new Error(`Could not initialise the tfjs '${name}' backend.`);
  await tf.ready();
  return tf.getBackend();
}
