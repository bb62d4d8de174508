import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { resnetStyle, inceptionStyle } from '../src/core/testing/zoo';
import { artifactsFromLayersModel, toTfArtifacts } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { openModelFiles } from '../src/core/io/open-model';

/** A model built with the layers API here, written as the files a user would drop. */
async function modelFiles(build: () => tf.LayersModel) {
  await tf.setBackend('cpu');
  const m = build();
  const files = writeTfjsModel(await artifactsFromLayersModel(m));
  m.dispose();
  return files.map((f) => ({
    name: f.path,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(f.bytes),
  }));
}

test('a residual model: ticking a filter shows every coupled layer and channel; the export keeps them in step', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByLabel('Choose model files').setInputFiles(await modelFiles(resnetStyle));
  const stem = page.getByRole('article', { name: 'Layer stem' });
  await expect(stem.getByTestId('producers-stem')).toContainText('b1_c2');
  await expect(stem.getByTestId('producers-stem')).toContainText('b2_c2');

  const heat = page.getByRole('img', { name: /stem filter importance: 6 filters/ });
  const box = (await heat.boundingBox())!;
  await heat.click({ position: { x: (3.5 * box.width) / 6, y: box.height / 2 } });
  await expect(page.getByTestId('status-stem')).toHaveText('1 of 6 selected in stem');

  // Before anything is applied: the exact channels that go with filter 3.
  const details = page.getByRole('list', { name: 'Channels removed with filter 3 of stem' });
  await expect(details.locator('li[data-layer="b1_c2"][data-role="producer"]')).toContainText('filter 3');
  await expect(details.locator('li[data-layer="stem_bn"]')).toContainText('channel 3');
  await expect(details.locator('li[data-layer="b1_c1"][data-role="consumer"]')).toContainText(
    'input channel 3',
  );
  // The layer table marks the coupled layers.
  await page.getByRole('tab', { name: 'Layers' }).click();
  for (const name of ['stem', 'stem_bn', 'b1_c2', 'b1_add', 'b2_c2', 'p_short']) {
    await expect(page.locator(`tr[data-layer="${name}"]`)).toHaveClass(/coupled/);
  }
  await expect(page.locator('tr[data-layer="p_c2"]')).not.toHaveClass(/coupled/);

  // Group view and graph view.
  await page.getByRole('tab', { name: 'Coupled groups' }).click();
  await expect(page.getByRole('link', { name: /Group \d+: stem/ })).toBeVisible();
  await page.getByRole('tab', { name: 'Graph' }).click();
  // The focused group (stem, pointed at above) is outlined on every member in the graph.
  await expect(page.getByRole('button', { name: /^b2_c2, Conv2D/ })).toHaveClass(/mg-coupled/);
  await page.getByRole('button', { name: /^p_c1, Conv2D/ }).click();
  await expect(page.getByRole('region', { name: 'Inspector' })).toContainText('p_c1');
  await page.getByRole('tab', { name: 'Filters' }).click();
  await expect(page.getByRole('article', { name: 'Layer p_c1' })).toHaveClass(/focused/);

  const params = Number(
    await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value'),
  );
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .zip' }).click();
  const zipped = unzipSync(new Uint8Array(readFileSync(await (await downloadPromise).path())));
  const a = await openModelFiles(Object.entries(zipped).map(([path, bytes]) => ({ path, bytes })));
  const shape = (n: string) => a.weights.find((w) => w.name === n)?.shape;
  expect(shape('stem/kernel')).toEqual([3, 3, 3, 5]);
  expect(shape('b1_c2/kernel')).toEqual([3, 3, 4, 5]);
  expect(shape('b2_c2/kernel')).toEqual([3, 3, 4, 5]);
  expect(shape('b1_c1/kernel')).toEqual([3, 3, 5, 4]);
  expect(shape('p_short/kernel')).toEqual([1, 1, 5, 8]);
  const record = a.userDefinedMetadata?.prunelab as { kept: Record<string, { outputChannels?: number[] }> };
  expect(record.kept.stem?.outputChannels).toEqual([0, 1, 2, 4, 5]);
  expect(record.kept.b2_c2?.outputChannels).toEqual([0, 1, 2, 4, 5]);
  const model = await tf.loadLayersModel(tf.io.fromMemory(toTfArtifacts(a)));
  expect(model.countParams()).toBe(params);
  const y = model.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor;
  expect(y.shape).toEqual([1, 3]);
  tf.dispose([y]);
  model.dispose();
});

test('an Inception-style model: lowest 30% everywhere, totals fall, the export loads', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByLabel('Choose model files').setInputFiles(await modelFiles(inceptionStyle));
  await expect(page.getByTestId('selection-status')).toContainText('0 of');
  const before = Number(
    await page.getByTestId('total-parameters').locator('td').nth(0).getAttribute('data-value'),
  );
  await page.getByLabel('Percent of filters to select in all layers').fill('30');
  await page.getByRole('button', { name: 'Select lowest 30% in all layers' }).click();
  await expect
    .poll(async () =>
      Number(await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value')),
    )
    .toBeLessThan(before);
  const after = Number(
    await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value'),
  );
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .zip' }).click();
  const zipped = unzipSync(new Uint8Array(readFileSync(await (await downloadPromise).path())));
  const a = await openModelFiles(Object.entries(zipped).map(([path, bytes]) => ({ path, bytes })));
  const model = await tf.loadLayersModel(tf.io.fromMemory(toTfArtifacts(a)));
  expect(model.countParams()).toBe(after);
  model.dispose();
});
