import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { dropFiles } from './helpers';

const ONNX = join(
  import.meta.dirname,
  '..',
  'src',
  'core',
  'io',
  '__fixtures__',
  'onnx',
  'mnist_cnn_trained.onnx',
);

test('drop a PyTorch ONNX export, prune, download .onnx with its plan, drop it again: the smaller shapes open', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await dropFiles(page, [{ name: 'mnist_cnn_trained.onnx', bytes: readFileSync(ONNX) }]);
  await expect(page.getByRole('img', { name: /^conv1 filter importance: 16 filters/ })).toBeVisible();
  // The residual stage is one coupled group of conv2 and res_conv2.
  await expect(page.getByTestId('producers-conv2')).toContainText('res_conv2');
  await page.getByRole('button', { name: 'Select lowest 50% of conv1' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('8 of 16 selected in conv1');
  await expect(page.getByLabel('Download format')).toHaveValue('onnx');

  const downloads: { name: string; path: string }[] = [];
  page.on(
    'download',
    (d) => void d.path().then((p) => downloads.push({ name: d.suggestedFilename(), path: p })),
  );
  await page.getByRole('button', { name: 'Download .onnx' }).click();
  await expect.poll(() => downloads.length).toBe(2);
  const onnx = downloads.find((d) => d.name.endsWith('.onnx'))!;
  const plan = downloads.find((d) => d.name.endsWith('.prunelab.json'))!;
  expect(readFileSync(onnx.path).length).toBeLessThan(readFileSync(ONNX).length);
  const record = JSON.parse(readFileSync(plan.path, 'utf8')) as {
    initializers: Record<string, { kept: (number[] | null)[] }>;
  };
  expect(Object.keys(record.initializers).length).toBeGreaterThan(0);

  // Dropped again, as another model: it opens with conv1 at 8 filters and conv2's inputs to match.
  await dropFiles(page, [{ name: 'pruned.onnx', bytes: readFileSync(onnx.path) }]);
  await expect(page.getByRole('img', { name: /^conv1 filter importance: 8 filters/ })).toBeVisible();
  await page.getByRole('tab', { name: 'Layers' }).click();
  await expect(page.locator('tr[data-layer="conv1"]')).toContainText('8');
});
