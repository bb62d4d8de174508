/**
 * `npx tsx scripts/bench-graph.ts`: the graph view on the 313-layer InceptionV3-size model.
 *
 * 1. Layout time of dagre in Node (the same `layoutGraph` the page's worker runs): median, min and
 *    max of 7 runs after a warm-up, for InceptionV3 and MobileNetV2; and the model -> nodes/edges
 *    and plan -> edge labels steps.
 * 2. In the built page (`npm run build` first) in headless Chromium (Debian's /usr/bin/chromium when
 *    present, flags as playwright.config.ts): InceptionV3 opened from its files, the time from the
 *    Graph tab to 313 nodes on screen, then frame times from `requestAnimationFrame` timestamps while
 *    idle and while a drag pans the graph one step per frame (median, p95), at the first view, fitted
 *    (all 313 nodes painted) and with a plan labelling ~300 edges. Screenshots go to e2e/screenshots/.
 *
 * Prints a table; asserts nothing. The preview server is started on its own port and killed at exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Page } from 'playwright-core';
import { launchChromium } from './page-harness';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { buildModelIR } from '../src/core/ir/build-ir';
import { buildChannelGraph } from '../src/core/graph/build-graph';
import { inceptionV3, mobilenetV2 } from '../src/core/testing/bench-models';
import { buildGraphModel, edgeChannels } from '../src/ui/components/graph/graph-model';
import { layoutGraph } from '../src/ui/components/graph/layout';

const PORT = 4181;
/** The built page to serve: `dist/` (`npm run build`), or another build folder in BENCH_DIST. */
const DIST = process.env.BENCH_DIST ?? join(import.meta.dirname, '..', 'dist');
const SHOTS = join(import.meta.dirname, '..', 'e2e', 'screenshots');
const rows: string[] = [];
const row = (what: string, value: string, target = '') => rows.push(`| ${what} | ${value} | ${target} |`);

function stats(xs: number[]): { median: number; p95: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { median: at(0.5), p95: at(0.95), min: s[0]!, max: s[s.length - 1]! };
}

async function benchNode(): Promise<void> {
  for (const [name, build] of [
    ['InceptionV3', inceptionV3],
    ['MobileNetV2', mobilenetV2],
  ] as const) {
    const m = build();
    const artifacts = await artifactsFromLayersModel(m);
    m.dispose();
    const ir = buildModelIR(artifacts);
    const graph = buildChannelGraph(ir);
    let t0 = performance.now();
    const model = buildGraphModel(ir, graph);
    const buildMs = performance.now() - t0;
    layoutGraph(model); // warm-up (JIT)
    const times: number[] = [];
    for (let i = 0; i < 7; i++) times.push(layoutGraph(model).ms);
    const s = stats(times);
    row(
      `dagre layout, ${name} (${model.nodes.length} nodes, ${model.edges.length} edges), Node, median of 7 [min–max]`,
      `${s.median.toFixed(0)} ms [${s.min.toFixed(0)}–${s.max.toFixed(0)}]`,
      name === 'InceptionV3' ? 'under 1000 ms' : '',
    );
    const plan = {
      version: 1 as const,
      remove: Object.fromEntries(
        graph.groups
          .filter((g) => g.prunable)
          .map((g) => [g.producer, Array.from({ length: Math.floor(g.size / 2) }, (_, i) => i)]),
      ),
    };
    t0 = performance.now();
    const reps = 20;
    let labelled = 0;
    for (let i = 0; i < reps; i++) labelled = edgeChannels(model, graph, plan).size;
    const labelMs = (performance.now() - t0) / reps;
    row(
      `${name}: IR -> nodes/edges; 50% plan -> ${labelled} relabelled tensors`,
      `${buildMs.toFixed(1)} ms; ${labelMs.toFixed(2)} ms`,
    );
  }
}

/** Frame intervals (ms) from rAF timestamps: `frames` idle ones, then as many with one pan step each. */
async function frameTimes(page: Page, frames: number): Promise<{ idle: number[]; pan: number[] }> {
  return page.evaluate(async (n) => {
    const vp = document.querySelector<HTMLElement>('[role="region"][aria-label^="Model graph"]')!;
    const r = vp.getBoundingClientRect();
    const x = r.left + 30;
    const y = r.top + r.height / 2;
    const frame = () => new Promise<number>((res) => requestAnimationFrame(res));
    const record = async (count: number, step?: (i: number) => void) => {
      const ts: number[] = [await frame()];
      for (let i = 0; i < count; i++) {
        step?.(i);
        ts.push(await frame());
      }
      return ts.slice(1).map((t, i) => t - ts[i]!);
    };
    const ev = (type: string, cx: number, cy: number) =>
      vp.dispatchEvent(
        new PointerEvent(type, {
          pointerId: 7,
          isPrimary: true,
          button: 0,
          buttons: type === 'pointerup' ? 0 : 1,
          clientX: cx,
          clientY: cy,
          bubbles: true,
        }),
      );
    const idle = await record(n);
    ev('pointerdown', x, y);
    // Down and back up again, 6 px a frame: a steady drag, a real repaint of new content each frame.
    const pan = await record(n, (i) => {
      const d = i < n / 2 ? i : n - i;
      ev('pointermove', x + 10 + d * 1.5, y - 10 - d * 6);
    });
    ev('pointerup', x, y);
    return { idle, pan };
  }, frames);
}

/** Waits until the page has drawn 30 frames in a row without a long task (the model's analysis and autosave done). */
async function waitForQuiet(page: Page): Promise<void> {
  await page.evaluate(async () => {
    let last = await new Promise<number>((r) => requestAnimationFrame(r));
    const until = performance.now() + 120_000;
    for (let calm = 0; calm < 30 && performance.now() < until;) {
      const t = await new Promise<number>((r) => requestAnimationFrame(r));
      calm = t - last < 25 ? calm + 1 : 0;
      last = t;
    }
  });
}

function frameRow(what: string, t: { idle: number[]; pan: number[] }): void {
  const i = stats(t.idle);
  const p = stats(t.pan);
  row(
    `page: frame interval while panning, ${what} (median, p95; idle frames)`,
    `${p.median.toFixed(1)}, ${p.p95.toFixed(1)} ms (idle ${i.median.toFixed(1)}, ${i.p95.toFixed(1)})`,
    '16.7 ms (60 fps)',
  );
}

function startServer(): ChildProcess {
  const vite = join(import.meta.dirname, '..', 'node_modules', 'vite', 'bin', 'vite.js');
  // Its own process group, so the kill at exit takes every child with it.
  return spawn(
    process.execPath,
    [vite, 'preview', '--port', String(PORT), '--strictPort', '--host', '127.0.0.1', '--outDir', DIST],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
}

function stopServer(server: ChildProcess): void {
  if (server.pid === undefined || server.exitCode !== null) return;
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    server.kill('SIGTERM');
  }
}

async function benchPage(): Promise<void> {
  if (!existsSync(join(DIST, 'index.html'))) {
    row('page rows', 'skipped: run `npm run build` first');
    return;
  }
  mkdirSync(SHOTS, { recursive: true });
  const m = inceptionV3();
  // uint8 weights: a quarter of the 95 MB, the same graph.
  const files = writeTfjsModel(await artifactsFromLayersModel(m), { quantize: 'uint8' });
  m.dispose();
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-bench-graph-'));
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);

  const server = startServer();
  const onExit = () => stopServer(server);
  process.on('exit', onExit);
  process.on('SIGINT', () => process.exit(130));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // tsx keeps function names with a `__name` helper that does not exist inside the page.
    await page.addInitScript('window.__name = (f) => f;');
    for (let i = 0; i < 100; i++) {
      try {
        await page.goto(`http://127.0.0.1:${PORT}/?backend=wasm`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await page.getByLabel('Choose model files').setInputFiles(files.map((f) => join(dir, f.path)));
    await page.getByRole('article', { name: 'Layer conv2d', exact: true }).waitFor({ timeout: 300_000 });
    await waitForQuiet(page);
    const t0 = Date.now();
    await page.getByRole('tab', { name: 'Graph' }).click();
    const region = page.getByRole('region', { name: /^Model graph: 313 layers/ });
    await region.getByRole('button').nth(312).waitFor({ state: 'attached', timeout: 60_000 });
    const openMs = Date.now() - t0;
    const workerMs = Number(await region.getAttribute('data-layout-ms'));
    row(
      'page: Graph tab -> 313 nodes on screen (worker start, layout, render)',
      `${openMs} ms`,
      'under 1000 ms',
    );
    row('page: dagre layout inside the worker, InceptionV3', `${workerMs.toFixed(0)} ms`);
    await page.getByTestId('graph-view').screenshot({ path: join(SHOTS, 'graph-inceptionv3.png') });

    frameRow(
      `InceptionV3 at the first view (scale ${await region.getAttribute('data-scale')})`,
      await frameTimes(page, 240),
    );
    await page.getByRole('button', { name: 'Fit graph to view' }).click();
    frameRow('InceptionV3 fitted, all 313 nodes painted', await frameTimes(page, 240));
    await page.getByTestId('graph-view').screenshot({ path: join(SHOTS, 'graph-inceptionv3-fit.png') });

    await page.getByRole('tab', { name: 'Filters' }).click();
    await page.getByLabel('Percent of filters to select in all layers').fill('30');
    await page.getByRole('button', { name: 'Select lowest 30% in all layers' }).click();
    // Pointing at a layer's heatmap focuses it; the graph then opens on it at 100% (mixed0's 1x1 branch).
    await page.getByRole('img', { name: /^conv2d_5 filter importance/ }).hover();
    await page.getByRole('tab', { name: 'Graph' }).click();
    await region.getByTestId('edge-label').first().waitFor({ timeout: 60_000 });
    const labels = await region.getByTestId('edge-label').count();
    frameRow(
      `InceptionV3 at ${await region.getAttribute('data-scale')} with lowest 30% ticked (${labels} edge labels)`,
      await frameTimes(page, 240),
    );
    await region.getByRole('button', { name: /^mixed0, Concatenate/ }).hover();
    await page.getByTestId('graph-view').screenshot({ path: join(SHOTS, 'graph-inceptionv3-pruned.png') });
  } finally {
    await browser.close();
    stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  await benchNode();
  await benchPage();
  console.log('| measure | value | target |');
  console.log('| --- | --- | --- |');
  for (const r of rows) console.log(r);
}

await main();
