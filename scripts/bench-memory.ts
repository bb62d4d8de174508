/**
 * `npx tsx scripts/bench-memory.ts`: renderer memory through ten previews of an InceptionV3-size
 * model (313 layers, ~88 MB of float32 weights; input 75x75 so that ten previews run in minutes on
 * wasm) in the built page, each of another plan. Reports the renderer's resident memory (from /proc,
 * the largest Chromium renderer) and tfjs's tensor bytes after opening, after each preview, against
 * the model's float32 weight bytes. Needs `npm run build` first; stops every process it starts.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { inceptionV3 } from '../src/core/testing/bench-models';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { encodeSampleSet } from '../src/core/evaluate/sample-set';
import { launchChromium, NAME_SHIM, startPreview, stop } from './page-harness';

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
  const browser = await launchChromium();
  const rows: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.addInitScript(NAME_SHIM);
    for (let i = 0; i < 50; i++) {
      try {
        await page.goto(`http://127.0.0.1:${port}/?backend=wasm&bench`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const start = rendererRssMb();
    await page
      .getByLabel('Choose model files')
      .setInputFiles([...files.map((f) => join(dir, f.path)), join(dir, 'set.plss')]);
    await page
      .getByRole('img', { name: /filter importance/ })
      .first()
      .waitFor({ timeout: 180_000 });
    const mem = () =>
      page.evaluate(
        () =>
          (
            globalThis as unknown as { __prunelabBench: { memory(): { numBytes: number } } }
          ).__prunelabBench.memory().numBytes /
          2 ** 20,
      );
    const opened = rendererRssMb();
    rows.push(`| opened (before any preview) | ${opened.toFixed(0)} MB | ${(await mem()).toFixed(0)} MB |`);
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
    for (let p = 0; p < PREVIEWS; p++) {
      await page.getByRole('button', { name: `Select lowest 50% of ${layers[p]!}`, exact: true }).click();
      const ms = await page.evaluate(() =>
        (
          globalThis as unknown as { __prunelabBench: { preview(): Promise<number> } }
        ).__prunelabBench.preview(),
      );
      const rss = rendererRssMb();
      peak = Math.max(peak, rss);
      rows.push(
        `| after preview ${p + 1} (${(ms / 1000).toFixed(1)} s) | ${rss.toFixed(0)} MB | ${(await mem()).toFixed(0)} MB |`,
      );
    }
    console.log(
      `InceptionV3-size, ${params.toLocaleString()} parameters = ${weightsMb.toFixed(0)} MB of float32 weights; renderer at start ${start.toFixed(0)} MB`,
    );
    console.log('| when | renderer RSS | tfjs tensor bytes |');
    console.log('| --- | --- | --- |');
    for (const r of rows) console.log(r);
    console.log(
      `growth from opening to the peak of ten previews: ${(peak - opened).toFixed(0)} MB = ${((peak - opened) / weightsMb).toFixed(2)}x the float32 weights; peak ${(peak / weightsMb).toFixed(2)}x`,
    );
  } finally {
    await browser.close();
    await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
