import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { openModelFiles } from '../src/core/io/open-model';
import { dropFiles } from './helpers';

async function paramsAfter(page: Page): Promise<number> {
  return Number(await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value'));
}

async function selected(page: Page): Promise<string> {
  return (await page.getByTestId('selection-status').textContent()) ?? '';
}

/** Clicks filter `i` of a layer's heatmap (cells in rows of `layout.cols`, read from the canvas size). */
async function clickFilter(page: Page, layer: string, i: number): Promise<void> {
  const heat = page.getByRole('img', { name: new RegExp(`^${layer} filter importance`) });
  await heat.scrollIntoViewIfNeeded();
  const box = (await heat.boundingBox())!;
  const n = Number((await heat.getAttribute('data-filters')) ?? 0);
  const cols = Number((await heat.getAttribute('data-cols')) ?? 0);
  const rows = Number((await heat.getAttribute('data-rows')) ?? 0);
  expect(n).toBeGreaterThan(i);
  const position = {
    x: ((i % cols) + 0.5) * (box.width / cols),
    y: (Math.floor(i / cols) + 0.5) * (box.height / rows),
  };
  // Pointing at a filter spells out its coupled channels, which can move the cards below: point first.
  await heat.hover({ position, force: true });
  await heat.click({ position, force: true });
}

/** The weights of a downloaded TF.js zip, by name. */
async function downloadWeights(page: Page): Promise<Map<string, number[]>> {
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download .zip' }).click();
  const download = await downloadPromise;
  const zipped = unzipSync(new Uint8Array(readFileSync(await download.path())));
  const opened = await openModelFiles(Object.entries(zipped).map(([path, bytes]) => ({ path, bytes })));
  return new Map(opened.weights.map((w) => [w.name, Array.from(w.values)]));
}

test('every change is a step: tick, tick, lowest 50%, undo three times, redo; a reload restores plan and history', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv2 filter importance/ })).toBeVisible();
  const seen: { status: string; params: number }[] = [
    { status: await selected(page), params: await paramsAfter(page) },
  ];

  await clickFilter(page, 'conv1', 2);
  await expect(page.getByTestId('status-conv1')).toHaveText('1 of 16 selected in conv1');
  seen.push({ status: await selected(page), params: await paramsAfter(page) });
  await clickFilter(page, 'conv2', 5);
  await expect(page.getByTestId('status-conv2')).toHaveText('1 of 32 selected in conv2');
  seen.push({ status: await selected(page), params: await paramsAfter(page) });
  await page.getByRole('button', { name: /Select lowest 50% in all layers/ }).click();
  await expect(page.getByTestId('status-conv2')).toHaveText('16 of 32 selected in conv2');
  seen.push({ status: await selected(page), params: await paramsAfter(page) });
  expect(new Set(seen.map((s) => s.params)).size).toBe(4);

  const history = page.getByRole('region', { name: 'History' });
  await expect(history.getByRole('listitem')).toHaveText([
    /open mnist-cnn/,
    /tick conv1 #2/,
    /tick conv2 #5/,
    /lowest 50% in all layers/,
  ]);
  await expect(page.getByRole('button', { name: 'Undo lowest 50% in all layers' })).toBeEnabled();

  // Ctrl+Z three times: each step's selection and totals come back.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  for (let i = 2; i >= 0; i--) {
    await page.keyboard.press('Control+z');
    await expect(page.getByTestId('selection-status')).toHaveText(seen[i]!.status);
    await expect.poll(() => paramsAfter(page)).toBe(seen[i]!.params);
  }
  await expect(page.getByRole('button', { name: 'Undo' })).toBeDisabled();
  // Ctrl+Shift+Z once: forward to "tick conv1 #2"; later steps stay listed until the next change.
  await page.keyboard.press('Control+Shift+z');
  await expect(page.getByTestId('selection-status')).toHaveText(seen[1]!.status);
  await expect.poll(() => paramsAfter(page)).toBe(seen[1]!.params);
  await expect(history.locator('[aria-current="step"]')).toContainText('tick conv1 #2');
  await expect(history.locator('li.undone')).toHaveCount(2);
  // Ctrl+Y is redo too; a click in the History jumps.
  await page.keyboard.press('Control+y');
  await expect(page.getByTestId('selection-status')).toHaveText(seen[2]!.status);
  await history.getByRole('button', { name: /lowest 50% in all layers/ }).click();
  await expect(page.getByTestId('selection-status')).toHaveText(seen[3]!.status);
  await history.getByRole('button', { name: /tick conv1 #2/ }).click();
  await expect(page.getByTestId('selection-status')).toHaveText(seen[1]!.status);

  // Reload: the page offers the last session by name; restoring gives the same plan and history.
  await expect(page.getByTestId('save-state')).toHaveText('Saved in this browser');
  await page.reload();
  await expect(page.getByTestId('restore-offer')).toContainText('mnist-cnn (bundled sample)');
  await expect(page.getByTestId('restore-offer')).toContainText('4 steps');
  await page.getByRole('button', { name: 'Restore last session' }).click();
  await expect(page.getByTestId('selection-status')).toHaveText(seen[1]!.status);
  await expect.poll(() => paramsAfter(page)).toBe(seen[1]!.params);
  await expect(history.getByRole('listitem')).toHaveCount(4);
  await expect(history.locator('[aria-current="step"]')).toContainText('tick conv1 #2');
  await page.keyboard.press('Control+Shift+z');
  await expect(page.getByTestId('selection-status')).toHaveText(seen[2]!.status);
  // The sample set came back too.
  await expect(page.getByText(/Sample set: mnist-heldout\.plss, 2000 images/)).toBeVisible();
});

test('fine-tuned weights belong to their plan: untick and re-tick, the download still holds them; ticks lock while it runs', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv2 filter importance/ })).toBeVisible();
  await page.getByRole('button', { name: 'Select lowest 50% of conv2' }).click();
  await expect(page.getByTestId('status-conv2')).toHaveText('16 of 32 selected in conv2');
  const plain = await downloadWeights(page);
  await expect(page.getByTestId('download-holds')).toContainText('not fine-tuned');

  await page.getByRole('tab', { name: 'Recover' }).click();
  await page.getByLabel('Epochs').fill('20');
  await page.getByLabel('Batch size').fill('64');
  await page.getByRole('button', { name: 'Fine-tune' }).click();
  await expect(page.getByTestId('plan-lock')).toContainText('locked while fine-tuning');
  // A click on a heatmap is refused while it runs: the selection stays.
  await page.getByRole('tab', { name: 'Filters' }).click();
  await clickFilter(page, 'conv1', 0);
  await expect(page.getByTestId('status-conv1')).toHaveText('0 of 16 selected in conv1');
  await expect(page.getByRole('button', { name: 'Undo' })).toBeDisabled();
  // After the first epoch, Stop keeps the best weights so far and unlocks the plan.
  await page.getByRole('tab', { name: /^Recover/ }).click();
  await expect(page.getByTestId('curve-table').locator('tbody tr')).not.toHaveCount(0, { timeout: 110_000 });
  await page.getByRole('button', { name: 'Stop (keep best)' }).click();
  await expect(page.getByTestId('finetune-result')).toContainText('stopped early');
  await expect(page.getByTestId('plan-lock')).toHaveCount(0);
  await expect(page.getByTestId('download-holds')).toContainText('recovered model (fine-tuned');
  const tuned = await downloadWeights(page);
  await page.getByRole('tab', { name: 'Filters' }).click();
  const kernel = 'conv2/kernel';
  expect(tuned.get(kernel)?.length).toBe(plain.get(kernel)?.length);
  expect(tuned.get(kernel)).not.toEqual(plain.get(kernel));

  // Untick one filter: another plan, the plain pruned weights; re-tick it: the fine-tuned ones again.
  const before = await page.getByTestId('selection-status').textContent();
  const lowest = (await page
    .getByRole('img', { name: /^conv2 filter importance/ })
    .getAttribute('data-selected'))!
    .split(',')
    .map(Number)[0]!;
  await clickFilter(page, 'conv2', lowest);
  await expect(page.getByTestId('status-conv2')).toHaveText('15 of 32 selected in conv2');
  await expect(page.getByTestId('download-holds')).toContainText('not fine-tuned');
  await clickFilter(page, 'conv2', lowest);
  await expect(page.getByTestId('selection-status')).toHaveText(before!);
  await expect(page.getByTestId('download-holds')).toContainText(/recovered model \(fine-tuned \d+ epoch/);
  const again = await downloadWeights(page);
  for (const [name, values] of tuned) expect(again.get(name), name).toEqual(values);
});

test('Cancel during BatchNorm re-estimation stops it and keeps the weights as they were', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv2 filter importance/ })).toBeVisible();
  await page.getByRole('button', { name: 'Select lowest 50% of conv1' }).click();
  await page.getByRole('tab', { name: 'Recover' }).click();
  await page.getByRole('button', { name: 'Re-estimate BatchNorm' }).click();
  await page.getByRole('button', { name: 'Cancel batchnorm re-estimation' }).click();
  await expect(
    page.getByText('BatchNorm re-estimation cancelled. The weights stay as they were.'),
  ).toBeVisible();
  await expect(page.getByText(/BatchNorm re-estimated in/)).toHaveCount(0);
  await expect(page.getByTestId('recovered-note')).toHaveCount(0);
  // It can run again to the end afterwards.
  await page.getByRole('button', { name: 'Re-estimate BatchNorm' }).click();
  await expect(page.getByText(/BatchNorm re-estimated in 2 layers/)).toBeVisible();
});

test('images dropped on an open model ask before they become its sample set', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByText(/Sample set: mnist-heldout\.plss, 2000 images/)).toBeVisible();
  const png = new PNG({ width: 28, height: 28 });
  const bytes = new Uint8Array(PNG.sync.write(png));
  await dropFiles(page, [{ name: 'stray.png', bytes }]);
  const ask = page.getByRole('alertdialog', { name: 'Use the dropped images as samples?' });
  await expect(ask).toContainText('stray.png');
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await expect(ask).toHaveCount(0);
  await expect(page.getByText(/Sample set: mnist-heldout\.plss, 2000 images/)).toBeVisible();
  await dropFiles(page, [{ name: 'stray.png', bytes }]);
  await ask.getByRole('button', { name: 'Use as sample set' }).click();
  await expect(page.getByText(/Sample set: stray\.png, 1 images/)).toBeVisible();
});
