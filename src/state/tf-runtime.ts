import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'webgl' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** Why this backend, in words for the status bar. */
  reason: string;
  /** WebGL renderer string when one could be read. */
  renderer?: string;
}

/** Software rasterisers: WebGL through them is slower than wasm (SwiftShader: ~8x on MobileNetV2). */
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render|mesa offscreen/i;

/** Reads the WebGL renderer string, or null when WebGL 2 (or 1) is unavailable. */
function probeWebGLRenderer(): string | null {
  try {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return renderer;
  } catch {
    return null;
  }
}

/** Decides the backend: `?backend=` wins; else WebGL on a real GPU, wasm on software WebGL, cpu last. */
export function chooseBackend(search: string): BackendChoice {
  const forced = new URLSearchParams(search).get('backend');
  if (forced === 'webgl' || forced === 'wasm' || forced === 'cpu') {
    return { name: forced, reason: `forced by ?backend=${forced}` };
  }
  const renderer = probeWebGLRenderer();
  if (renderer === null) return { name: 'wasm', reason: 'WebGL is unavailable' };
  if (SOFTWARE_RENDERERS.test(renderer)) {
    return { name: 'wasm', reason: `WebGL is software-rendered (${renderer})`, renderer };
  }
  return { name: 'webgl', reason: `GPU: ${renderer}`, renderer };
}

let ready: Promise<BackendChoice> | null = null;

/**
 * Initialises tfjs once: the wasm binaries come from our own `wasm/` folder (no CDN), single-threaded
 * because we send no COOP/COEP headers. Falls back wasm -> cpu if the chosen backend fails to start.
 */
export function initBackend(search = globalThis.location?.search ?? ''): Promise<BackendChoice> {
  ready ??= (async () => {
    // Single-threaded on purpose (see vite.config.ts); the binaries are served by this app, never a CDN.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setWasmPaths(new URL('wasm/', document.baseURI).href);
    const choice = chooseBackend(search);
    const order: BackendName[] = [
      choice.name,
      ...(['wasm', 'cpu'] as const).filter((b) => b !== choice.name),
    ];
    for (const name of order) {
      try {
        if (await tf.setBackend(name)) {
          await tf.ready();
          if (name === 'wasm') {
            const { registerWasmGradKernels } = await import('../core/tf/wasm-grad-kernels');
            registerWasmGradKernels();
          }
          return name === choice.name
            ? choice
            : { name, reason: `${choice.name} failed to start; fell back` };
        }
      } catch (e) {
        console.warn(`Backend ${name} failed`, e);
      }
    }
    throw new Error('No TensorFlow.js backend could start (tried webgl, wasm, cpu).');
  })();
  return ready;
}
