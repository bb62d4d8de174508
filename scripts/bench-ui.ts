/**
 * `npm run bench:ui`: the time from a tick to updated totals in the real page (React render
 * included), on a 302-layer CNN, in headless Chromium. Needs `npm run build` first and Chromium
 * (Debian's /usr/bin/chromium when present). Prints a table; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { deepCnn } from './deep-cnn';

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = deepCnn(100);
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-bench-ui-'));
  const files = writeTfjsModel(await artifactsFromLayersModel(model));
  model.dispose();
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);

  const port = 4179;
  const server = spawn(
    'npx',
    ['vite', 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'],
    {
      stdio: 'ignore',
    },
  );
  const browser = await chromium.launch({
    ...(existsSync('/usr/bin/chromium') ? { executablePath: '/usr/bin/chromium' } : {}),
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    for (let i = 0; i < 50; i++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/?backend=wasm`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await page.getByLabel('Choose model files').setInputFiles(files.map((f) => join(dir, f.path)));
    await page.getByRole('img', { name: /c50 filter importance/ }).waitFor();
    if (process.env.VIEW) await page.getByRole('tab', { name: process.env.VIEW }).click();
    const times = await page.evaluate(async () => {
      const cell = document.querySelector<HTMLElement>('[data-testid="total-parameters"] td:nth-of-type(2)')!;
      const out: number[] = [];
      const layers = ['c10', 'c20', 'c30', 'c40', 'c50', 'c60', 'c70', 'c80'];
      for (let i = 0; i < 40; i++) {
        const canvas = document.querySelector<HTMLCanvasElement>(
          `canvas[data-layer="${layers[i % layers.length]}"]`,
        )!;
        const r = canvas.getBoundingClientRect();
        const cols = Number(canvas.dataset.cols);
        const k = Math.floor(i / layers.length);
        const x = r.left + ((k % cols) + 0.5) * (r.width / cols);
        const y = r.top + r.height / (2 * Number(canvas.dataset.rows));
        const before = cell.dataset.value;
        const t0 = performance.now();
        canvas.dispatchEvent(new MouseEvent('click', { clientX: x, clientY: y, bubbles: true }));
        // Wait for the totals cell to show the new figure (React may commit in a microtask or a task).
        while (cell.dataset.value === before) await new Promise((res) => setTimeout(res, 0));
        out.push(performance.now() - t0);
      }
      return out;
    });
    times.sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
    console.log('| measure | value | target |');
    console.log('| --- | --- | --- |');
    console.log(
      `| page: tick -> updated totals, 302-layer CNN (median of ${times.length}) | ${q(0.5)} ms | under 16 ms |`,
    );
    console.log(`| page: tick -> updated totals, 302-layer CNN (p90) | ${q(0.9)} ms | |`);
  } finally {
    await browser.close();
    server.kill();
  }
}

await main();
