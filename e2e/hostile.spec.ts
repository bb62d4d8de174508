import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page, type Route } from '@playwright/test';
import { unzipSync, zipSync } from 'fflate';
import { dropFiles } from './helpers';

// Issue 9, in the page: opening a dropped file runs in a worker with a time limit and Cancel
// (src/worker/open-model-client.ts), so a hostile or endless file cannot freeze the tab, and the
// model already open, with its ticks, stays as it was.

const FIXTURES = join(import.meta.dirname, '..', 'src', 'core', 'io', '__fixtures__', 'keras');
const MOBILENET = 'k2_mobilenetv1_vww96.h5';
/** The worker's HDF5 library (h5wasm, its own chunk in the build), fetched on the first .h5/.keras. */
const HDF5_CHUNK = '**/hdf5_hl-*.js';

/** The test hook: the page reads `?loadTimeoutMs=` at each open; `null` restores the default limit. */
async function setLoadTimeout(page: Page, ms: number | null): Promise<void> {
  await page.evaluate((limit) => {
    const url = new URL(location.href);
    if (limit === null) url.searchParams.delete('loadTimeoutMs');
    else url.searchParams.set('loadTimeoutMs', String(limit));
    history.replaceState(history.state, '', url);
  }, ms);
}

/** The Keras 3 fixture with a hard link `/layers/conv2d/loop -> /layers` in its weights: a walk that never ends. */
async function kerasWithLinkCycle(): Promise<Uint8Array> {
  const entries = unzipSync(new Uint8Array(readFileSync(join(FIXTURES, 'k3_mnist_cnn_sequential.keras'))));
  const h5wasm = (await import('h5wasm')).default;
  const { FS } = await h5wasm.ready;
  FS.writeFile('cycle.weights.h5', entries['model.weights.h5']!);
  const file = new h5wasm.File('cycle.weights.h5', 'a');
  const conv = file.get('layers/conv2d');
  if (!(conv instanceof h5wasm.Group)) throw new Error('fixture changed: no /layers/conv2d group');
  conv.create_hard_link('/layers', 'loop');
  file.close();
  entries['model.weights.h5'] = new Uint8Array(FS.readFile('cycle.weights.h5'));
  FS.unlink('cycle.weights.h5');
  return zipSync(entries);
}

/** Opens the sample and ticks half of conv1: the state every test expects to survive. */
async function openSampleWithTicks(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters/ })).toBeVisible();
  await page.getByRole('button', { name: 'Select lowest 50% of conv1' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('8 of 16 selected in conv1');
}

async function expectSampleAsLeft(page: Page): Promise<void> {
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters/ })).toBeVisible();
  await expect(page.getByTestId('status-conv1')).toHaveText('8 of 16 selected in conv1');
  await expect(page.getByTestId('selection-status')).toContainText('8 of');
}

/** A click on a tab is answered: the page is not frozen. */
async function expectClickAnswered(page: Page, tab: 'Coupled groups' | 'Layers'): Promise<void> {
  await page.getByRole('tab', { name: tab }).click();
  await expect(page.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true');
  // Back to the heatmaps, which the callers click next.
  await page.getByRole('tab', { name: 'Filters' }).click();
  await expect(page.getByRole('tab', { name: 'Filters' })).toHaveAttribute('aria-selected', 'true');
}

function loadError(page: Page) {
  return page.getByRole('alert').filter({ hasText: 'Could not open' });
}

test('a .keras whose HDF5 weights link back to themselves is refused by name; model, ticks and page stay usable', async ({
  page,
}) => {
  // A walk that regressed into an endless loop would be stopped after 10 s, not hang the tab.
  await page.goto('/?backend=wasm&loadTimeoutMs=10000');
  await openSampleWithTicks(page);

  await dropFiles(page, [{ name: 'cycle.keras', bytes: await kerasWithLinkCycle() }]);
  await expect(loadError(page)).toContainText('cycle.keras');
  await expect(loadError(page)).toHaveAttribute('data-code', /^(CYCLE|TIMEOUT)$/);
  await expect(loadError(page)).toContainText('unchanged');
  await expectSampleAsLeft(page);

  await expectClickAnswered(page, 'Coupled groups');
  await expectClickAnswered(page, 'Layers');
  const heat = page.getByRole('img', { name: /conv1 filter importance: 16 filters/ });
  const box = (await heat.boundingBox())!;
  const cols = Number(await heat.getAttribute('data-cols'));
  // Whether filter 15 is ticked or not, a click toggles it.
  const before = await page.getByTestId('status-conv1').textContent();
  await heat.click({ position: { x: ((15 % cols) + 0.5) * (box.width / cols), y: box.height / 2 } });
  await expect(page.getByTestId('status-conv1')).not.toHaveText(before ?? '');
});

test('a file that runs past the time limit is stopped: TIMEOUT naming the file and the limit; the next open works', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await openSampleWithTicks(page);

  // A test-only limit no real parse can meet stands in for a file that would run long.
  await setLoadTimeout(page, 1);
  const bytes = readFileSync(join(FIXTURES, MOBILENET));
  await dropFiles(page, [{ name: MOBILENET, bytes }]);
  await expect(loadError(page)).toHaveAttribute('data-code', 'TIMEOUT');
  await expect(loadError(page)).toContainText(MOBILENET);
  await expect(loadError(page)).toContainText('0.001 s');
  await expectSampleAsLeft(page);
  await expectClickAnswered(page, 'Coupled groups');

  // The stopped worker is replaced: with the default limit the same file opens.
  await setLoadTimeout(page, null);
  await dropFiles(page, [{ name: MOBILENET, bytes }]);
  await expect(page.getByRole('img', { name: /^conv2d filter importance: 8 filters/ })).toBeVisible({
    timeout: 60_000,
  });
  await expect(loadError(page)).toHaveCount(0);
});

test('while a file opens, the page answers clicks and offers Cancel, which keeps the open model', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await openSampleWithTicks(page);

  // Hold the worker's HDF5 library on the wire: the open cannot finish until the test lets it.
  const held: Route[] = [];
  await page.context().route(HDF5_CHUNK, (route) => {
    held.push(route);
  });
  await dropFiles(page, [{ name: MOBILENET, bytes: readFileSync(join(FIXTURES, MOBILENET)) }]);
  await expect(page.getByRole('status').filter({ hasText: `Opening ${MOBILENET}` })).toBeVisible();
  // It is being parsed in the open-model worker, not on the page's thread.
  await expect
    .poll(() => page.workers().map((w) => w.url()))
    .toContainEqual(expect.stringContaining('open-model'));
  await expectClickAnswered(page, 'Coupled groups');
  await expectClickAnswered(page, 'Layers');
  await page.getByRole('img', { name: /conv1 filter importance/ }).hover();
  await expect(page.getByTestId('focus-conv1')).toContainText('Filter');

  await page.getByRole('button', { name: 'Cancel opening' }).click({ timeout: 30_000 });
  await expect(loadError(page)).toHaveAttribute('data-code', 'CANCELLED');
  await expect(loadError(page)).toContainText(MOBILENET);
  await expect(page.getByRole('status').filter({ hasText: `Opening ${MOBILENET}` })).toHaveCount(0);
  await expectSampleAsLeft(page);

  await page.context().unroute(HDF5_CHUNK);
  for (const route of held) await route.continue().catch(() => {}); // the worker that asked is gone
  // Opening again after a Cancel works (a new worker).
  await dropFiles(page, [{ name: MOBILENET, bytes: readFileSync(join(FIXTURES, MOBILENET)) }]);
  await expect(page.getByRole('img', { name: /^conv2d filter importance: 8 filters/ })).toBeVisible({
    timeout: 60_000,
  });
});

test('NaN weights open with a warning naming the layer; a sample set with labels past the outputs is refused by name', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await openSampleWithTicks(page);
  const bad = join(import.meta.dirname, '..', 'test', 'bad-files');
  await dropFiles(page, [
    {
      name: 'plss-label-past-outputs.plss',
      bytes: readFileSync(join(bad, 'samples', 'plss-label-past-outputs.plss')),
    },
  ]);
  await expect(loadError(page)).toHaveAttribute('data-code', 'BAD_SAMPLES');
  await expect(loadError(page)).toContainText('plss-label-past-outputs.plss');
  await expectSampleAsLeft(page);
  const dir = join(bad, 'config', 'nan-weights');
  await dropFiles(
    page,
    readdirSync(dir).map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) })),
  );
  await expect(page.getByTestId('model-warnings')).toContainText('NaN');
});
