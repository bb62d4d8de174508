// Copies the single-threaded tfjs wasm binaries into public/wasm so the app serves them itself
// (no CDN request). The threaded build is left out on purpose (see vite.config.ts).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
const dest = join(root, 'public/wasm');
mkdirSync(dest, { recursive: true });
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'])
  copyFileSync(join(src, f), join(dest, f));
