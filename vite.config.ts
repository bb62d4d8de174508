import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// No COOP/COEP headers on purpose: with them tfjs picks its threaded wasm build,
// whose workers crash in a minified build and leave setBackend('wasm') hanging (tfjs#4107, #4539).
export default defineConfig({
  plugins: [react()],
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 5120 },
  worker: { format: 'es' },
});
