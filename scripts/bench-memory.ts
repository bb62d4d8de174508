/**
 * `npx tsx scripts/bench-memory.ts`: renderer memory through ten previews of an InceptionV3-size
 * model (313 layers, ~88 MB of float32 weights; input 75x75 so that ten previews run in minutes on
 * wasm) in the built page, each of another plan. Reports the renderer's resident memory (from /proc,
 * the largest Chromium renderer) as found and after a full GC, the live models' weight bytes, the wasm
 * heap's size and the JS heap, once the model is opened and its session saved, and after each preview;
 * growth is measured from the opened reading after GC, against the model's float32 weight bytes.
 * Then, in a fresh renderer with the same files open, the comparison: plain `tf.loadLayersModel` of the
 * same model and one predict over the sample set (what running the model here costs at all: on wasm
 * each conv keeps a transposed copy of its filter and XNNPACK's packed copy, besides the tensor).
 * Needs `npm run build` first; stops every process it starts.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { inceptionV3 } from '../src/core/testing/bench-models';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { encodeSampleSet } from '../src/core/evaluate/sample-set';
import { gotoWhenServed, launchChromium, NAME_SHIM, startPreview, stop } from './page-harness';

const port = 4181;
const PREVIEWS = 10;
const SAMPLES = 64;

/** Resident memory of the largest Chromium renderer process, in MB. */
function rendererRssMb(): number {
  let best = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer')) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) best = Math.max(best, Number(rss[1]) / 1024);
    } catch {
      /* gone */
    }
  }
  return best;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const m = inceptionV3(75, 10);
  const params = m.countParams();
  const files = writeTfjsModel(await artifactsFromLayersModel(m));
  m.dispose();
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-bench-mem-'));
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);
  const pixels = new Uint8Array(SAMPLES * 75 * 75 * 3).map((_, i) => (i * 131 + 7) % 256);
  const labels = Uint8Array.from({ length: SAMPLES }, (_, i) => i % 10);
  writeFileSync(
    join(dir, 'set.plss'),
    encodeSampleSet({ count: SAMPLES, height: 75, width: 75, channels: 3, numClasses: 10, pixels, labels }),
  );
  const weightsMb = (params * 4) / 2 ** 20;
  const server = startPreview(port);
  // expose-gc: each row is read twice, as found and after a full collection (live memory only).
  const browser = await launchChromium(['--js-flags=--expose-gc', '--enable-precise-memory-info']);
  const rows: string[] = [];
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  type Mem = { numBytes: number; wasmHeapBytes: number; jsHeapBytes: number };
  /** A fresh renderer (its own browser context) with the model and sample set opened and saved. */
  const openFresh = async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.addInitScript(NAME_SHIM);
    await gotoWhenServed(page, `http://127.0.0.1:${port}/?backend=wasm&bench`);
    await page
      .getByLabel('Choose model files')
      .setInputFiles([...files.map((f) => join(dir, f.path)), join(dir, 'set.plss')]);
    await page
      .getByRole('img', { name: /filter importance/ })
      .first()
      .waitFor({ timeout: 180_000 });
    // Opening includes writing the session (the files as dropped) to IndexedDB: read after it.
    await page.getByText('Saved in this browser').first().waitFor({ timeout: 120_000 });
    const mem = (): Promise<Mem> =>
      page.evaluate(() =>
        (globalThis as unknown as { __prunelabBench: { memory(): Mem } }).__prunelabBench.memory(),
      );
    const gc = () => page.evaluate(() => (globalThis as unknown as { gc(): void }).gc());
    /** One table row: RSS as found, RSS after a full GC, tfjs tensors, wasm heap, JS heap (after GC). */
    const measure = async (what: string): Promise<{ rss: number; live: number }> => {
      const rss = rendererRssMb();
      await gc();
      await new Promise((r) => setTimeout(r, 200));
      const live = rendererRssMb();
      const m = await mem();
      rows.push(
        `| ${what} | ${rss.toFixed(0)} MB | ${live.toFixed(0)} MB | ${mb(m.numBytes)} MB | ${mb(m.wasmHeapBytes)} MB | ${mb(m.jsHeapBytes)} MB |`,
      );
      return { rss, live };
    };
    return { context, page, measure };
  };
  const x = (mbs: number) => `${mbs.toFixed(0)} MB = ${(mbs / weightsMb).toFixed(2)}x the float32 weights`;
  const summary: string[] = [];
  try {
    // Phase 1: ten previews, each of another plan.
    {
      const { context, page, measure } = await openFresh();
      // The baseline is the reading after a full GC: the save's transient buffers are not the model's.
      const opened = (await measure('opened and saved (before any preview)')).live;
      const layers = [
        'conv2d',
        'conv2d_1',
        'conv2d_2',
        'conv2d_3',
        'conv2d_4',
        'conv2d_5',
        'conv2d_6',
        'conv2d_7',
        'conv2d_8',
        'conv2d_9',
      ];
      let peak = opened;
      let last = { rss: opened, live: opened };
      for (let p = 0; p < PREVIEWS; p++) {
        await page.getByRole('button', { name: `Select lowest 50% of ${layers[p]!}`, exact: true }).click();
        const ms = await page.evaluate(() =>
          (
            globalThis as unknown as { __prunelabBench: { preview(): Promise<number> } }
          ).__prunelabBench.preview(),
        );
        last = await measure(`after preview ${p + 1} (${(ms / 1000).toFixed(1)} s)`);
        peak = Math.max(peak, last.rss);
      }
      summary.push(
        `growth from opening to after ten previews: ${x(last.rss - opened)} (after GC: ${x(last.live - opened)})`,
        `growth from opening to the highest reading: ${x(peak - opened)}`,
      );
      await context.close();
    }
    // Phase 2, the comparison: what running this model here at all costs, in a fresh renderer with the
    // same files open: plain tf.loadLayersModel and one predict over the sample set, no preview.
    {
      const { context, page, measure } = await openFresh();
      const opened = (await measure('fresh page: opened and saved')).live;
      const ms = await page.evaluate(() =>
        (
          globalThis as unknown as { __prunelabBench: { plainRun(): Promise<number> } }
        ).__prunelabBench.plainRun(),
      );
      const after = await measure(
        `fresh page: plain tf.loadLayersModel + one predict (${(ms / 1000).toFixed(1)} s)`,
      );
      summary.push(
        `growth from opening to one plain load + predict of the same model (no preview): ${x(after.rss - opened)} (after GC: ${x(after.live - opened)})`,
      );
      await context.close();
    }
    console.log(
      `InceptionV3-size, ${params.toLocaleString()} parameters = ${weightsMb.toFixed(0)} MB of float32 weights`,
    );
    console.log(
      "| when | renderer RSS | RSS after GC | live models' weights (once per buffer) | wasm heap size | JS heap (Chromium) |",
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of rows) console.log(r);
    for (const line of summary) console.log(line);
  } finally {
    await browser.close();
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
