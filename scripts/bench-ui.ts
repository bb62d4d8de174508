/**
 * `npm run bench:ui`: what a user feels in the real page, in headless Chromium (Debian's
 * /usr/bin/chromium when present). Needs `npm run build` first. Prints a table; asserts nothing.
 *
 * 1. Tick -> next painted frame on a 302-layer CNN, from `requestAnimationFrame` timestamps: a click
 *    dispatched inside a frame callback, and the timestamp of the next frame (the one after the tick's
 *    render, layout and paint), alternated in one run with idle frames (two frames, nothing done).
 * 2. Preview (click "Preview accuracy" -> figures shown) against plain `model.predict` of the same
 *    two models on the same images, batch and backend, in the same page (a second tfjs from
 *    node_modules, wasm from the app's own /wasm/), alternated, n >= 5.
 *
 * Every process it starts (the `vite preview` server and its children, the browser) is stopped on
 * the way out, also after an error: the server runs in its own process group, killed as a group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium, type Page } from 'playwright-core';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { parseSampleSet } from '../src/core/evaluate/sample-set';
import { deepCnn } from './deep-cnn';

const root = join(import.meta.dirname, '..');
const REPEATS = Math.max(5, Number(process.env.REPEATS ?? 7));
const TICKS = Number(process.env.TICKS ?? 40);
const port = 4179;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const stats = (xs: number[]) =>
  `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}, n=${xs.length})`;

/** Stops the server and every child it started (its own process group), then waits for it. */
async function stop(server: ChildProcess): Promise<void> {
  if (server.pid === undefined || server.exitCode !== null) return;
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** tsx names functions with esbuild's `__name` helper, which functions sent to the page then call. */
const NAME_SHIM = { content: 'globalThis.__name = (f) => f;' };

async function openPage(page: Page, files: string[], waitFor: RegExp): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await page.goto(`http://127.0.0.1:${port}/?backend=wasm`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await page.getByLabel('Choose model files').setInputFiles(files);
  await page.getByRole('img', { name: waitFor }).first().waitFor({ timeout: 120_000 });
}

/** Tick -> next frame against idle frames, alternated, in the page. */
async function tickFrames(page: Page): Promise<{ idle: number[]; tick: number[]; applied: number }> {
  return page.evaluate(async (n) => {
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    const visible = [...document.querySelectorAll<HTMLCanvasElement>('canvas[data-layer][data-cols]')].filter(
      (c) => {
        const r = c.getBoundingClientRect();
        return r.width > 0 && r.bottom > 0 && r.top < innerHeight;
      },
    );
    const canvases = visible.slice(0, 8);
    const idle: number[] = [];
    const tick: number[] = [];
    let applied = 0;
    await frame();
    await frame();
    for (let i = 0; i < n; i++) {
      const a = await frame();
      idle.push((await frame()) - a);
      const canvas = canvases[i % canvases.length]!;
      const before = canvas.dataset.selected;
      const r = canvas.getBoundingClientRect();
      const cols = Number(canvas.dataset.cols);
      const k = Math.floor(i / canvases.length) % cols;
      const x = r.left + (k + 0.5) * (r.width / cols);
      const y = r.top + r.height / (2 * Number(canvas.dataset.rows));
      const t0 = await new Promise<number>((res) =>
        requestAnimationFrame((ts) => {
          canvas.dispatchEvent(new MouseEvent('click', { clientX: x, clientY: y, bubbles: true }));
          res(ts);
        }),
      );
      tick.push((await frame()) - t0);
      if (canvas.dataset.selected !== before) applied++;
    }
    return { idle, tick, applied };
  }, TICKS);
}

/** Preview click -> figures, alternated with plain predict of the same models, in one page. */
async function previewAgainstPlain(page: Page): Promise<{ preview: number[]; plain: number[] } | string> {
  await page.addScriptTag({ path: join(root, 'node_modules/@tensorflow/tfjs/dist/tf.min.js') });
  await page.addScriptTag({
    path: join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js'),
  });
  const dir = join(root, 'public/samples/mnist-cnn');
  const modelJson = readFileSync(join(dir, 'model.json'), 'utf8');
  const shard = readFileSync(join(dir, 'group1-shard1of1.bin')).toString('base64');
  const set = parseSampleSet(
    new Uint8Array(readFileSync(join(root, 'public/samples/mnist-heldout.plss'))),
    'heldout',
  );
  const pixels = Buffer.from(set.pixels).toString('base64');
  const shape = [set.height, set.width, set.channels];
  const button = page.getByRole('button', { name: 'Preview accuracy' });
  if ((await button.count()) === 0) return 'no "Preview accuracy" button on this page';
  const samples: { preview: number[]; plain: number[] } = { preview: [], plain: [] };
  // Plain predict: the original and a model with the same shapes as the pruned one are both the
  // sample here (the page's pruned model is what the plan makes; the bound is plain predict of two).
  const plain = () =>
    page.evaluate(
      async ({ modelJson, shard, pixels, shape, count }) => {
        type TF = typeof import('@tensorflow/tfjs');
        const g = globalThis as unknown as { tf: TF; __plain?: { models: unknown[]; x: unknown[] } };
        const t = g.tf;
        if (!g.__plain) {
          (t as unknown as { wasm: { setWasmPaths(p: string): void } }).wasm.setWasmPaths('/wasm/');
          await t.setBackend('wasm');
          const bytes = Uint8Array.from(atob(shard), (c) => c.charCodeAt(0));
          const json = JSON.parse(modelJson) as {
            modelTopology: object;
            weightsManifest: { weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
          };
          const load = () =>
            t.loadLayersModel(
              t.io.fromMemory({
                modelTopology: json.modelTopology,
                weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
                weightData: bytes.buffer,
              }),
            );
          const models = [await load(), await load()];
          const px = Uint8Array.from(atob(pixels), (c) => c.charCodeAt(0));
          const per = shape.reduce((a, b) => a * b, 1);
          const x: unknown[] = [];
          for (let s = 0; s < count; s += 64) {
            const n = Math.min(64, count - s);
            x.push(
              t.tensor(
                Float32Array.from(px.subarray(s * per, (s + n) * per), (v) => v / 255),
                [n, ...shape],
              ),
            );
          }
          g.__plain = { models, x };
        }
        const { models, x } = g.__plain as {
          models: import('@tensorflow/tfjs').LayersModel[];
          x: import('@tensorflow/tfjs').Tensor[];
        };
        const t0 = performance.now();
        for (const b of x) {
          for (const m of models) {
            const y = m.predict(b) as import('@tensorflow/tfjs').Tensor;
            await y.data();
            y.dispose();
          }
        }
        return performance.now() - t0;
      },
      { modelJson, shard, pixels, shape, count: set.count },
    );
  const preview = async () => {
    const t0 = Date.now();
    if (await button.isDisabled()) {
      const text = await page
        .getByRole('region', { name: 'Accuracy preview' })
        .innerText()
        .catch(() => '');
      throw new Error(`"Preview accuracy" is disabled: ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
    }
    await button.click();
    await page.getByTestId('acc-original').waitFor({ timeout: 120_000 });
    const ms = Date.now() - t0;
    return ms;
  };
  const lowest = page.getByRole('button', { name: 'Select lowest 50% of conv1' });
  if ((await lowest.count()) > 0) await lowest.click();
  await plain();
  for (let r = 0; r < REPEATS; r++) {
    samples.preview.push(await preview());
    samples.plain.push(await plain());
    // A new plan key next time, so the page previews again rather than showing a kept result.
    await page
      .getByRole('tab', { name: 'Filters' })
      .click()
      .catch(() => undefined);
    const heat = page.locator('canvas[data-layer][data-cols]').first();
    await heat.click({ position: { x: 4 + 9 * r, y: 4 } }).catch(() => undefined);
    await page
      .getByTestId('acc-original')
      .waitFor({ state: 'detached', timeout: 5000 })
      .catch(() => undefined);
  }
  return samples;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = deepCnn(100);
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-bench-ui-'));
  const files = writeTfjsModel(await artifactsFromLayersModel(model));
  model.dispose();
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);

  const server = spawn(
    'npx',
    ['vite', 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'],
    { stdio: 'ignore', detached: true },
  );
  const rows: string[] = [];
  const browser = await chromium
    .launch({
      ...(existsSync('/usr/bin/chromium') ? { executablePath: '/usr/bin/chromium' } : {}),
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    })
    .catch(async (e: unknown) => {
      await stop(server);
      throw e;
    });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.addInitScript(NAME_SHIM);
    await openPage(
      page,
      files.map((f) => join(dir, f.path)),
      /filter importance/,
    );
    const canvases = await page.locator('canvas').count();
    const t = await tickFrames(page);
    rows.push(
      `| page, 302-layer CNN (${canvases} canvases in the DOM): tick -> next painted frame | ${stats(t.tick)} | within 4 ms of idle |`,
      `| page, 302-layer CNN: idle frame, alternated with the ticks | ${stats(t.idle)} | |`,
      `| page, 302-layer CNN: tick frame - idle frame (medians); ticks applied | ${(median(t.tick) - median(t.idle)).toFixed(1)} ms; ${t.applied} of ${t.tick.length} | |`,
    );

    // The bundled sample with its held-out digits, as a person opens it.
    const sample = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await sample.addInitScript(NAME_SHIM);
    await sample.goto(`http://127.0.0.1:${port}/?backend=wasm`);
    await sample
      .getByRole('button', { name: /Open the sample/ })
      .first()
      .click();
    await sample
      .getByRole('img', { name: /filter importance/ })
      .first()
      .waitFor({ timeout: 120_000 });
    const p = await previewAgainstPlain(sample).catch((e: unknown) =>
      e instanceof Error ? e.message : String(e),
    );
    if (typeof p === 'string')
      rows.push(`| page, bundled sample: preview vs plain predict | not measured: ${p.split('\n')[0]} | |`);
    else
      rows.push(
        `| page, bundled sample: preview click -> figures (wasm) | ${stats(p.preview)} | |`,
        `| page, bundled sample: plain predict, same 2 models and images, alternated | ${stats(p.plain)} | |`,
        `| page, bundled sample: preview / plain predict speed | ${(median(p.plain) / median(p.preview)).toFixed(2)} | >= 0.95 |`,
      );
  } finally {
    await browser.close();
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('| measure | value | target |');
  console.log('| --- | --- | --- |');
  for (const r of rows) console.log(r);
}

await main();
