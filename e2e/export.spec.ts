import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { dropFiles, sampleFilesForDrop } from './helpers';
import { openModelFiles } from '../src/core/io/open-model';
import { writeTfjsModel } from '../src/core/io/export-tfjs';

test.beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The bundled sample stored as uint8, as a user's quantized model.json would be. */
async function uint8Sample(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const files = sampleFilesForDrop().filter((f) => !f.name.endsWith('.plss'));
  // Copies: a Node Buffer's .slice() shares its pool, which the decoder does not expect.
  const a = await openModelFiles(files.map((f) => ({ path: f.name, bytes: new Uint8Array(f.bytes) })));
  return writeTfjsModel(a, { quantize: 'uint8' }).map((f) => ({ name: f.path, bytes: f.bytes }));
}

test('a uint8 model downloads as uint8, in one zip, smaller than the files opened, with the sizes shown before', async ({
  page,
}) => {
  const files = await uint8Sample();
  const opened = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  await page.goto('/?backend=wasm');
  await dropFiles(page, files);
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters/ })).toBeVisible();
  await expect(page.getByLabel('TF.js weight quantization')).toHaveValue('uint8');
  await expect(page.getByLabel('Download format')).toHaveValue('tfjs-zip');
  await page.getByRole('button', { name: 'Select lowest 50% of conv1' }).click();
  const size = page.getByTestId('export-size-tfjs-zip');
  await expect(size).toHaveAttribute('data-value', /^\d+$/);

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .zip' }).click();
  const download = await downloadPromise;
  const zipBytes = new Uint8Array(readFileSync(await download.path()));
  // Shown before downloading: exactly what came down; the totals compare it with the files opened.
  await expect(size).toHaveAttribute('data-value', String(zipBytes.byteLength));
  const fileSize = page.getByTestId('total-file-size').locator('td');
  await expect(fileSize.nth(0)).toHaveAttribute('data-value', String(opened));
  await expect(fileSize.nth(1)).toHaveAttribute('data-value', String(zipBytes.byteLength));
  expect(zipBytes.byteLength).toBeLessThan(opened);

  const entries = Object.entries(unzipSync(zipBytes)).map(([path, bytes]) => ({ path, bytes }));
  expect(entries.map((e) => e.path.split('/').pop()).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
  const json = JSON.parse(
    new TextDecoder().decode(entries.find((e) => e.path.endsWith('model.json'))!.bytes),
  ) as {
    weightsManifest: { weights: { name: string; shape: number[]; quantization?: { dtype: string } }[] }[];
    userDefinedMetadata: { prunelab: { writer: { name: string; version: string } } };
  };
  const weights = json.weightsManifest[0]!.weights;
  expect(weights.every((w) => w.quantization?.dtype === 'uint8')).toBe(true);
  expect(weights.find((w) => w.name === 'conv1/kernel')?.shape).toEqual([3, 3, 1, 8]);
  expect(json.userDefinedMetadata.prunelab.writer.name).toBe('PruneLab');

  // The .keras choice changes what the totals compare.
  await page.getByLabel('Download format').selectOption('keras');
  const kerasSize = await page.getByTestId('export-size-keras').getAttribute('data-value');
  await expect(fileSize.nth(1)).toHaveAttribute('data-value', kerasSize!);
});
