import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { SAMPLE_FILES, dropFiles, forbidForeignRequests, sampleFilesForDrop } from './helpers';
import { openModelFiles } from '../src/core/io/open-model';

const ORIGIN = 'http://127.0.0.1:4173';

test.beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function paramsAfter(page: import('@playwright/test').Page): Promise<number> {
  return Number(await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value'));
}

test('open the sample by drag and drop, prune half of conv1, preview, download the zip and load it back', async ({
  page,
}) => {
  const foreign = forbidForeignRequests(page, ORIGIN);
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('Backend: wasm');
  await expect(page.getByText('Your model never leaves this tab')).toBeVisible();

  await dropFiles(page, sampleFilesForDrop());
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters/ })).toBeVisible();
  await page.getByRole('tab', { name: 'Layers' }).click();
  await expect(page.getByRole('table').filter({ hasText: 'Output shape' })).toBeVisible();
  await page.getByRole('tab', { name: 'Filters' }).click();
  // The output layer is a fixed class count: not offered for pruning.
  await expect(page.getByTestId('reason-dense_out')).toContainText('output');

  const paramsBefore = await paramsAfter(page);
  const totalBefore = Number(
    await page.getByTestId('total-parameters').locator('td').nth(0).getAttribute('data-value'),
  );
  expect(paramsBefore).toBe(totalBefore);

  await page.getByRole('button', { name: 'Select lowest 50% of conv1' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('8 of 16 selected in conv1');
  await expect(page.getByTestId('selection-status')).toContainText('8 of');
  // conv1 loses 8 filters: its kernel (3*3*1*8) and bias (8), bn1's 4 arrays (4*8), conv2's input slices (3*3*8*32).
  const conv2Filters = 32;
  const expectedDrop = 3 * 3 * 1 * 8 + 8 + 4 * 8 + 3 * 3 * 8 * conv2Filters;
  await expect.poll(() => paramsAfter(page)).toBe(totalBefore - expectedDrop);

  // A single click ticks one more filter; the heatmap's text mirror says which.
  const heat = page.getByRole('img', { name: /conv1 filter importance/ });
  await heat.hover();
  await expect(page.getByTestId('focus-conv1')).toContainText('Filter');

  await page.getByRole('button', { name: 'Preview accuracy' }).click();
  await expect(page.getByTestId('acc-original')).toBeVisible({ timeout: 90_000 });
  const original = Number(await page.getByTestId('acc-original').getAttribute('data-value'));
  const pruned = Number(await page.getByTestId('acc-pruned').getAttribute('data-value'));
  const agreement = Number(await page.getByTestId('agreement').getAttribute('data-value'));
  expect(original).toBeGreaterThanOrEqual(0.97);
  expect(pruned).toBeGreaterThan(0);
  expect(pruned).toBeLessThanOrEqual(1);
  expect(agreement).toBeGreaterThan(0);

  // The evaluated plan is kept with its figures and can be reopened.
  await page.getByRole('tab', { name: 'Plans compared' }).click();
  const planRow = page.getByTestId('plan-record');
  await expect(planRow).toHaveCount(1);
  expect(Number(await planRow.locator('td').nth(2).getAttribute('data-value'))).toBe(pruned);
  await page.getByRole('tab', { name: 'Filters' }).click();
  await page.getByRole('button', { name: 'Clear all' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('0 of 16 selected in conv1');
  await page.getByRole('tab', { name: 'Plans compared' }).click();
  await planRow.getByRole('button', { name: 'Reopen' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('8 of 16 selected in conv1');

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .zip' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/pruned\.zip$/);
  const zipBytes = new Uint8Array(readFileSync(await download.path()));
  // The size the panel and the totals show is the size of what was downloaded (issue 11), compared
  // with the bytes of the files that were opened.
  await expect(page.getByTestId('export-size-tfjs-zip')).toHaveAttribute(
    'data-value',
    String(zipBytes.byteLength),
  );
  const fileSize = page.getByTestId('total-file-size').locator('td');
  await expect(fileSize.nth(1)).toHaveAttribute('data-value', String(zipBytes.byteLength));
  const opened =
    readFileSync('public/samples/mnist-cnn/model.json').byteLength +
    readFileSync('public/samples/mnist-cnn/group1-shard1of1.bin').byteLength;
  await expect(fileSize.nth(0)).toHaveAttribute('data-value', String(opened));
  const zipped = unzipSync(zipBytes);
  const files = Object.entries(zipped).map(([path, bytes]) => ({ path, bytes }));
  const reopened = await openModelFiles(files);
  const kernel = reopened.weights.find((w) => w.name === 'conv1/kernel');
  expect(kernel?.shape).toEqual([3, 3, 1, 8]);
  expect(reopened.weights.find((w) => w.name === 'conv2/kernel')?.shape).toEqual([3, 3, 8, conv2Filters]);
  const record = reopened.userDefinedMetadata?.prunelab as {
    kept: Record<string, { inputChannels?: number[]; outputChannels?: number[] }>;
    plan: { remove: Record<string, number[]> };
  };
  expect(record.kept.conv1?.outputChannels).toHaveLength(8);
  expect(record.kept.conv2?.inputChannels).toEqual(record.kept.conv1?.outputChannels);
  const removed = record.plan.remove.conv1 ?? [];
  expect([...removed, ...(record.kept.conv1?.outputChannels ?? [])].sort((a, b) => a - b)).toEqual(
    Array.from({ length: 16 }, (_, i) => i),
  );
  // Loads with tf.loadLayersModel and runs.
  const { toTfArtifacts } = await import('../src/core/io/tf-artifacts');
  const model = await tf.loadLayersModel(tf.io.fromMemory(toTfArtifacts(reopened)));
  expect(model.layers.map((l) => l.name)).toContain('conv1');
  expect(model.countParams()).toBe(totalBefore - expectedDrop);
  model.dispose();

  expect(foreign).toEqual([]);
});

test('open the sample with the file picker; a bad file leaves the open model untouched', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByLabel('Choose model files').setInputFiles(SAMPLE_FILES);
  await expect(page.getByRole('img', { name: /conv2 filter importance: 32 filters/ })).toBeVisible();
  await page.getByRole('button', { name: 'Select lowest 50% of conv2' }).click();
  await expect(page.getByTestId('status-conv2')).toHaveText('16 of 32 selected in conv2');

  await dropFiles(page, [{ name: 'broken.json', bytes: new TextEncoder().encode('{ "modelTopology": ') }]);
  await expect(page.getByRole('alert')).toContainText('broken.json');
  await expect(page.getByRole('alert')).toContainText('unchanged');
  await expect(page.getByTestId('status-conv2')).toHaveText('16 of 32 selected in conv2');

  // A model.json whose shard is missing: the error names the missing file.
  await page.getByLabel('Choose model files').setInputFiles([SAMPLE_FILES[0]!]);
  await expect(page.getByRole('alert')).toContainText('group1-shard1of1.bin');
  await expect(page.getByTestId('status-conv2')).toHaveText('16 of 32 selected in conv2');
});

test('click, shift-click a range, and never remove every filter of a layer', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  const heat = page.getByRole('img', { name: /conv1 filter importance: 16 filters/ });
  await expect(heat).toBeVisible();
  const box = (await heat.boundingBox())!;
  const cols = Number(await heat.getAttribute('data-cols'));
  const at = (i: number) => ({ x: ((i % cols) + 0.5) * (box.width / cols), y: box.height / 2 });
  await heat.click({ position: at(2) });
  await expect(page.getByTestId('status-conv1')).toHaveText('1 of 16 selected in conv1');
  await expect(page.getByTestId('focus-conv1')).toContainText('Filter 2');
  await expect(page.getByTestId('focus-conv1')).toContainText('(selected)');
  await heat.click({ position: at(5), modifiers: ['Shift'] });
  await expect(page.getByTestId('status-conv1')).toHaveText('4 of 16 selected in conv1');
  await heat.click({ position: at(3) });
  await expect(page.getByTestId('status-conv1')).toHaveText('3 of 16 selected in conv1');
  // Shift-click from 0 to 15 would select all 16: refused, with a reason, selection unchanged.
  await heat.click({ position: at(0) });
  await heat.click({ position: at(15), modifiers: ['Shift'] });
  await expect(page.getByRole('alert')).toContainText('at least one');
  await expect(page.getByTestId('status-conv1')).toHaveText('4 of 16 selected in conv1');
  // Keyboard: focus the canvas, move right, space toggles.
  await heat.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('status-conv1')).not.toHaveText('4 of 16 selected in conv1');
  await page.getByRole('button', { name: 'Clear all' }).click();
  await expect(page.getByTestId('selection-status')).toContainText('0 of');
});

test('"Open the sample" loads the model and the sample set in one click', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv1 filter importance/ })).toBeVisible();
  await expect(page.getByText(/Sample set: mnist-heldout\.plss, \d+ images/)).toBeVisible();
});
