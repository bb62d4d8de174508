/**
 * `npx tsx scripts/bench-open.ts [repeats]`: how long opening a model takes on the page's thread
 * (`loadModel`) against the open-model worker (`openModelOffThread`, with an idle worker kept warm and
 * with a fresh worker each time), and how long the page's thread is blocked meanwhile (the longest
 * gap between two turns of its event loop). Models: the bundled sample (TF.js, 430 KB) and the biggest
 * Keras fixture (k2_mobilenetv1_vww96.h5, 3.1 MB, through h5wasm).
 *
 * It builds a small page with the app's own vite.config.ts (same worker build) into a temporary
 * folder, serves it with `vite preview`, opens it in headless Chromium (Debian's /usr/bin/chromium
 * when present, with playwright.config.ts's flags), runs the modes in turn (A B C A B C...) after one
 * unmeasured warm-up each, and prints median and spread. Before that it checks that the worker also
 * runs under the `vite` dev server. Servers and browser are closed on exit. Prints a table; asserts nothing
 * beyond the worker having run in the worker.
 */
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './page-harness';
import { build, createServer, preview, type PreviewServer, type ViteDevServer } from 'vite';

const ROOT = resolve(import.meta.dirname, '..');
const REPEATS = Number(process.argv[2] ?? 7);
const MODELS = [
  {
    name: 'sample mnist-cnn (TF.js)',
    files: ['samples/mnist-cnn/model.json', 'samples/mnist-cnn/group1-shard1of1.bin'],
  },
  { name: 'k2_mobilenetv1_vww96.h5', files: ['k2_mobilenetv1_vww96.h5'] },
];
const MODES = ['thread', 'worker (warm)', 'worker (fresh)'] as const;

const HARNESS_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>bench-open</title>
<link rel="icon" href="data:,"></head>
<body><script type="module" src="./main.ts"></script></body></html>`;

// The page side: files fetched once and kept as bytes (as after a drop); each run times one open and
// the longest gap between setTimeout(0) turns of the event loop while it runs.
const HARNESS_MAIN = `
import { loadModel } from '${ROOT}/src/core/load';
import { openModelOffThread, releaseIdleWorker } from '${ROOT}/src/worker/open-model-client';

const cache = new Map();
async function filesOf(urls) {
  const out = [];
  for (const url of urls) {
    if (!cache.has(url)) cache.set(url, new Uint8Array(await (await fetch(url)).arrayBuffer()));
    out.push({ path: url.split('/').pop(), bytes: cache.get(url) });
  }
  return out;
}

window.benchOpen = async (mode, urls) => {
  const files = await filesOf(urls);
  if (mode === 'worker (fresh)') releaseIdleWorker();
  let running = true;
  let maxGap = 0;
  let last = performance.now();
  const beat = () => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    if (running) setTimeout(beat, 0);
  };
  setTimeout(beat, 0);
  const t0 = performance.now();
  const opened = mode === 'thread' ? { ...(await loadModel(files)), ranIn: 'thread' } : await openModelOffThread(files);
  const ms = performance.now() - t0;
  running = false;
  await new Promise((r) => setTimeout(r, 0));
  return { ms, maxGap: Math.max(maxGap, performance.now() - last), ranIn: opened.ranIn, layers: opened.ir.layers.length };
};
window.benchReady = true;
`;

interface Run {
  ms: number;
  maxGap: number;
  ranIn: string;
  layers: number;
}

declare global {
  interface Window {
    benchOpen: (mode: string, urls: string[]) => Promise<Run>;
    benchReady: boolean;
  }
}

function makeHarness(): string {
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-bench-open-'));
  writeFileSync(join(dir, 'index.html'), HARNESS_HTML);
  writeFileSync(join(dir, 'main.ts'), HARNESS_MAIN);
  // So that the app's config (its React plugin) resolves its packages from the harness's root too.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'public', 'samples'), { recursive: true });
  cpSync(join(ROOT, 'public', 'samples', 'mnist-cnn'), join(dir, 'public', 'samples', 'mnist-cnn'), {
    recursive: true,
  });
  cpSync(
    join(ROOT, 'src', 'core', 'io', '__fixtures__', 'keras', 'k2_mobilenetv1_vww96.h5'),
    join(dir, 'public', 'k2_mobilenetv1_vww96.h5'),
  );
  return dir;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'info') console.log(`  [page ${m.type()}] ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  return page;
}

async function main(): Promise<void> {
  const dir = makeHarness();
  const outDir = join(dir, 'dist');
  let dev: ViteDevServer | undefined;
  let served: PreviewServer | undefined;
  let browser: Browser | undefined;
  let closed = false;
  const closeAll = async () => {
    if (closed) return;
    closed = true;
    await browser?.close().catch(() => {});
    await dev?.close().catch(() => {});
    await new Promise<void>((r) => (served ? served.httpServer.close(() => r()) : r()));
    unlinkSync(join(dir, 'node_modules')); // the link first, so nothing can follow it into the repo
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void closeAll().then(() => process.exit(130)));
  try {
    browser = await launchChromium();

    // 1. The dev server: the worker (TS source, h5wasm through Vite's dep optimiser) must run there too.
    dev = await createServer({
      configFile: join(ROOT, 'vite.config.ts'),
      root: dir,
      logLevel: 'warn',
      server: { port: 4181, strictPort: true, host: '127.0.0.1', fs: { allow: [ROOT, dir] } },
    });
    await dev.listen();
    {
      const page = await openPage(browser, 'http://127.0.0.1:4181/');
      for (const m of MODELS) {
        const r = await page.evaluate(([urls]) => window.benchOpen('worker (fresh)', urls), [
          m.files,
        ] as const);
        console.log(`vite dev: ${m.name}: ${r.layers} layers, ran in the ${r.ranIn}, ${fmt(r.ms)} ms`);
        if (r.ranIn !== 'worker') throw new Error(`vite dev: ${m.name} did not run in the worker`);
      }
      await page.close();
    }
    await dev.close();
    dev = undefined;

    // 2. The build: what the worker chunk holds.
    await build({
      configFile: join(ROOT, 'vite.config.ts'),
      root: dir,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    const assets = readdirSync(join(outDir, 'assets'));
    for (const a of assets.filter((n) => n.endsWith('.js'))) {
      const text = readFileSync(join(outDir, 'assets', a), 'utf8');
      const tfjs = /tfjs-core|registerBackend|@tensorflow/.test(text) ? ', contains tfjs' : '';
      console.log(`build: assets/${a} ${(text.length / 1024).toFixed(0)} KB${tfjs}`);
    }

    // 3. The measurement, in the built page served by vite preview.
    served = await preview({
      configFile: join(ROOT, 'vite.config.ts'),
      root: dir,
      logLevel: 'warn',
      build: { outDir },
      preview: { port: 4182, strictPort: true, host: '127.0.0.1' },
    });
    const page = await openPage(browser, 'http://127.0.0.1:4182/');
    const results = new Map<string, Run[]>();
    for (const m of MODELS) {
      for (const mode of MODES) {
        await page.evaluate(([mo, urls]) => window.benchOpen(mo, urls), [mode, m.files] as const); // warm-up
      }
      for (let i = 0; i < REPEATS; i++) {
        for (const mode of MODES) {
          const r = await page.evaluate(([mo, urls]) => window.benchOpen(mo, urls), [mode, m.files] as const);
          const expected = mode === 'thread' ? 'thread' : 'worker';
          if (r.ranIn !== expected) throw new Error(`${m.name} ${mode}: ran in the ${r.ranIn}`);
          const key = `${m.name}\t${mode}`;
          results.set(key, [...(results.get(key) ?? []), r]);
        }
      }
    }
    console.log(
      `\nOpen time and longest main-thread block, built page, headless Chromium, ${REPEATS} runs each ` +
        `(alternating, after one warm-up each); median [min-max] in ms\n`,
    );
    console.log('| model | where | open, median [min-max] | longest block, median [min-max] |');
    console.log('|---|---|---|---|');
    for (const [key, runs] of results) {
      const [model, mode] = key.split('\t');
      const ms = runs.map((r) => r.ms);
      const gap = runs.map((r) => r.maxGap);
      console.log(
        `| ${model} | ${mode} | ${fmt(median(ms))} [${fmt(Math.min(...ms))}-${fmt(Math.max(...ms))}] | ` +
          `${fmt(median(gap))} [${fmt(Math.min(...gap))}-${fmt(Math.max(...gap))}] |`,
      );
    }
  } finally {
    await closeAll();
  }
}

await main();
