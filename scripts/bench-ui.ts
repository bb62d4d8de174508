/**
 * `npm run bench:ui`: what a user feels in the real page, in headless Chromium (Debian's
 * /usr/bin/chromium when present). Needs `npm run build` first. Prints a table; asserts nothing.
 *
 * 1. Tick -> next painted frame on a 302-layer CNN, from `requestAnimationFrame` timestamps: a click
 *    dispatched inside a frame callback, and the timestamp of the next frame (the one after the tick's
 *    render, layout and paint), alternated in one run with idle frames (two frames, nothing done).
 * 2. Preview against plain `model.predict` of the same models on the same images, batches and
 *    backend, in the same page and on the app's own tfjs (the hooks `?bench` installs,
 *    src/state/bench-hooks.ts), alternated, n >= 5: a plan previewed before (its pruned model kept,
 *    the original's outputs reused) against plain predict of that model; a new plan against plain
 *    predict of the original and the pruned model.
 *
 * Every process it starts (the `vite preview` server and its children, the browser) is stopped on
 * the way out, also after an error: the server runs in its own process group, killed as a group.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { gotoWhenServed, launchChromium, median, NAME_SHIM, startPreview, stats, stop } from './page-harness';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { deepCnn } from './deep-cnn';
import { mobilenetV2 } from '../src/core/testing/bench-models';
import { encodeSampleSet } from '../src/core/evaluate/sample-set';

const REPEATS = Math.max(5, Number(process.env.REPEATS ?? 7));
const TICKS = Number(process.env.TICKS ?? 40);
const port = 4179;

async function openPage(page: Page, files: string[], waitFor: RegExp): Promise<void> {
  await gotoWhenServed(page, `http://127.0.0.1:${port}/?backend=wasm`);
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
interface PreviewRuns {
  /** Preview of a plan already previewed (its pruned model kept, the original's outputs reused). */
  again: number[];
  /** Plain predict of the same pruned model, same batches, same backend. */
  plainPruned: number[];
  /** Preview of a new plan (apply + build + evaluate the pruned model). */
  fresh: number[];
  /** Plain predict of the original and the pruned model, as a preview without the cache had to run. */
  plainBoth: number[];
}

/**
 * Preview against plain `model.predict` in the same page, on the app's own tfjs and backend, through
 * the hooks `?bench` installs (src/state/bench-hooks.ts); the sides alternate in one run (A B A B).
 */
async function previewAgainstPlain(
  page: Page,
  layers: { lowest: string; tick: string } = { lowest: 'conv1', tick: 'conv2' },
): Promise<PreviewRuns | string> {
  const hasHooks = await page.evaluate(() => '__prunelabBench' in globalThis);
  if (!hasHooks) return 'no bench hooks on this page (open it with ?bench)';
  // Each timed call starts quiet (no autosave scheduled or being written: the preview's own results
  // schedule one 300 ms later, which otherwise lands in whichever side runs next), untimed.
  const call = (fn: 'preview' | 'pruned' | 'both') =>
    page.evaluate(async (f) => {
      const h = (
        globalThis as unknown as {
          __prunelabBench: {
            preview(): Promise<number>;
            plainPredict(w: string): Promise<number>;
            quiet(): Promise<void>;
          };
        }
      ).__prunelabBench;
      await h.quiet();
      return f === 'preview' ? h.preview() : h.plainPredict(f);
    }, fn);
  const runs: PreviewRuns = { again: [], plainPruned: [], fresh: [], plainBoth: [] };
  const lowest = page.getByRole('button', { name: `Select lowest 50% of ${layers.lowest}`, exact: true });
  await lowest.click();
  await call('preview'); // warm-up: builds the pruned model, computes the original's outputs
  await call('both');
  const heat = page.locator(`canvas[data-layer="${layers.tick}"]`);
  await heat.scrollIntoViewIfNeeded();
  for (let r = 0; r < REPEATS; r++) {
    runs.again.push(await call('preview'));
    runs.plainPruned.push(await call('pruned'));
    // A new plan: tick one more filter of conv2, then preview it.
    const box = (await heat.boundingBox())!;
    const cols = Number(await heat.getAttribute('data-cols'));
    await heat.click({ position: { x: ((r % cols) + 0.5) * (box.width / cols), y: box.height / 2 } });
    runs.fresh.push(await call('preview'));
    runs.plainBoth.push(await call('both'));
  }
  return runs;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = deepCnn(100);
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-bench-ui-'));
  const files = writeTfjsModel(await artifactsFromLayersModel(model));
  model.dispose();
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);

  const server = startPreview(port);
  const rows: string[] = [];
  const browser = await launchChromium().catch(async (e: unknown) => {
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
    await sample.goto(`http://127.0.0.1:${port}/?backend=wasm&bench`);
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
        `| page, bundled sample, 2000 digits: preview of a plan previewed before | ${stats(p.again)} | |`,
        `| page: plain predict of the same pruned model, alternated | ${stats(p.plainPruned)} | |`,
        `| page: preview / plain predict speed (same model) | ${(median(p.plainPruned) / median(p.again)).toFixed(2)} | >= 0.95 |`,
        `| page: preview of a new plan (apply + build + evaluate) | ${stats(p.fresh)} | |`,
        `| page: plain predict of original + pruned (what a preview without caches runs) | ${stats(p.plainBoth)} | |`,
        `| page: new-plan preview / plain predict of both, speed | ${(median(p.plainBoth) / median(p.fresh)).toFixed(2)} | |`,
      );

    // A MobileNetV2-size model (156 layers, 96x96 input so that the runs take seconds on wasm) and 64
    // images, opened as a person drops them.
    const mn = mobilenetV2(96, 10);
    const mnFiles = writeTfjsModel(await artifactsFromLayersModel(mn));
    mn.dispose();
    const mdir = join(dir, 'mobilenet');
    mkdirSync(mdir);
    for (const f of mnFiles) writeFileSync(join(mdir, f.path), f.bytes);
    const n = 64;
    writeFileSync(
      join(mdir, 'set.plss'),
      encodeSampleSet({
        count: n,
        height: 96,
        width: 96,
        channels: 3,
        numClasses: 10,
        pixels: new Uint8Array(n * 96 * 96 * 3).map((_, i) => (i * 131 + 7) % 256),
        labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
      }),
    );
    const mpage = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await mpage.addInitScript(NAME_SHIM);
    await gotoWhenServed(mpage, `http://127.0.0.1:${port}/?backend=wasm&bench`);
    await mpage
      .getByLabel('Choose model files')
      .setInputFiles([...mnFiles.map((f) => join(mdir, f.path)), join(mdir, 'set.plss')]);
    await mpage
      .getByRole('img', { name: /filter importance/ })
      .first()
      .waitFor({ timeout: 120_000 });
    const q = await previewAgainstPlain(mpage, { lowest: 'block_1_expand', tick: 'block_2_expand' }).catch(
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    if (typeof q === 'string')
      rows.push(`| page, MobileNetV2-size: preview vs plain predict | not measured: ${q.split('\n')[0]} | |`);
    else
      rows.push(
        `| page, MobileNetV2-size (156 layers, 96x96), 64 images: preview of a plan previewed before | ${stats(q.again)} | |`,
        `| page: plain predict of the same pruned model, alternated | ${stats(q.plainPruned)} | |`,
        `| page: preview / plain predict speed (same model) | ${(median(q.plainPruned) / median(q.again)).toFixed(2)} | >= 0.95 |`,
        `| page: preview of a new plan (apply + build + evaluate) | ${stats(q.fresh)} | |`,
        `| page: plain predict of original + pruned | ${stats(q.plainBoth)} | |`,
        `| page: new-plan preview / plain predict of both, speed | ${(median(q.plainBoth) / median(q.fresh)).toFixed(2)} | |`,
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
