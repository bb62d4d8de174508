import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { dropFiles } from './helpers';
import { openModelFiles } from '../src/core/io/open-model';

const FIXTURES = join(import.meta.dirname, '..', 'src', 'core', 'io', '__fixtures__', 'keras');

test('drop a .keras file, prune, download .keras, and open the download again in the page', async ({
  page,
}, info) => {
  await page.goto('/?backend=wasm');
  const keras = readFileSync(join(FIXTURES, 'k3_mnist_cnn_sequential.keras'));
  await dropFiles(page, [{ name: 'k3_mnist_cnn_sequential.keras', bytes: keras }]);
  await expect(page.getByRole('img', { name: /conv2d filter importance: 32 filters/ })).toBeVisible({
    timeout: 60_000,
  });
  await page.getByRole('button', { name: 'Select lowest 50% of conv2d_4' }).click();
  await expect(page.getByTestId('status-conv2d_4')).toHaveText('64 of 128 selected in conv2d_4');
  const params = Number(
    await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value'),
  );

  // Save the plan, to open it again later.
  const planDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Save plan' }).click();
  const planPath = info.outputPath('plan.json');
  await (await planDownload).saveAs(planPath);

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .keras' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/\.keras$/);
  const bytes = new Uint8Array(readFileSync(await download.path()));
  const a = await openModelFiles([{ path: 'pruned.keras', bytes }]);
  expect(a.weights.find((w) => w.name.endsWith('conv2d_4/kernel'))?.shape).toEqual([3, 3, 64, 64]);
  expect(a.weights.find((w) => w.name.endsWith('dense/kernel'))?.shape).toEqual([64, 512]);

  // Reload the download in the page: same layer names, conv2d_4 now has 64 filters, totals as predicted.
  await dropFiles(page, [{ name: 'pruned.keras', bytes }]);
  await expect(page.getByRole('img', { name: /conv2d_4 filter importance: 64 filters/ })).toBeVisible({
    timeout: 60_000,
  });
  await expect(page.getByTestId('selection-status')).toContainText('0 of');
  expect(
    Number(await page.getByTestId('total-parameters').locator('td').nth(0).getAttribute('data-value')),
  ).toBe(params);

  // The saved plan names the original model: refused on the pruned one, with the reason.
  await page.getByLabel('Open a saved plan').setInputFiles(planPath);
  await expect(page.getByRole('alert')).toContainText('fingerprint');
  await expect(page.getByTestId('selection-status')).toContainText('0 of');

  // ...and accepted on the original.
  await dropFiles(page, [{ name: 'original.keras', bytes: keras }]);
  await expect(page.getByRole('img', { name: /conv2d_4 filter importance: 128 filters/ })).toBeVisible({
    timeout: 60_000,
  });
  await page.getByLabel('Open a saved plan').setInputFiles(planPath);
  await expect(page.getByTestId('status-conv2d_4')).toHaveText('64 of 128 selected in conv2d_4');
});

test('a weights-only or broken Keras file gives a clear message and keeps the open model', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv1 filter importance/ })).toBeVisible();
  const keras = readFileSync(join(FIXTURES, 'k3_mnist_cnn_sequential.keras'));
  await dropFiles(page, [{ name: 'truncated.keras', bytes: keras.subarray(0, 5000) }]);
  await expect(page.getByRole('alert')).toContainText('truncated.keras');
  await expect(page.getByRole('img', { name: /conv1 filter importance/ })).toBeVisible();
});
