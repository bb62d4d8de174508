import { expect, test, type Page } from '@playwright/test';

async function openSample(page: Page): Promise<void> {
  await page.goto('/?backend=wasm');
  await expect(page.getByTestId('backend')).toHaveText('Backend: wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters/ })).toBeVisible();
  await expect(page.getByText(/Sample set: mnist-heldout\.plss/)).toBeVisible();
}

async function after(page: Page, row: 'parameters' | 'flops'): Promise<number> {
  return Number(await page.getByTestId(`total-${row}`).locator('td').nth(1).getAttribute('data-value'));
}

test('the page answers clicks while a sensitivity run goes on; Cancel stops it; results survive a view change', async ({
  page,
}) => {
  await openSample(page);
  await page.getByRole('tab', { name: /^Sensitivity/ }).click();
  await page.getByRole('button', { name: 'Run sensitivity analysis' }).click();
  const progress = page.getByRole('progressbar', { name: 'Sensitivity analysis progress' });
  await expect(progress).toBeVisible();
  await expect(page.getByTestId('job-sensitivity-analysis')).toContainText(/\d+ of \d+ evaluations/);

  // While it runs: go to the filters, tick one, and see the status lines follow.
  await page.getByRole('tab', { name: 'Filters' }).click();
  const heat = page.getByRole('img', { name: /conv1 filter importance: 16 filters/ });
  const box = (await heat.boundingBox())!;
  const cols = Number(await heat.getAttribute('data-cols'));
  await heat.click({ position: { x: (2 + 0.5) * (box.width / cols), y: box.height / 2 } });
  await expect(page.getByTestId('status-conv1')).toHaveText('1 of 16 selected in conv1');
  await expect(page.getByTestId('selection-status')).toContainText('1 of 112 filters selected');
  // ... and the run had not finished when the page answered: its tab says how far it is.
  const pct = Number(
    /\((\d+)%\)/.exec((await page.getByRole('tab', { name: /^Sensitivity/ }).textContent()) ?? '')?.[1],
  );
  expect(pct).toBeLessThan(100);
  await page.getByRole('tab', { name: /^Sensitivity/ }).click();
  await expect(progress).toBeVisible();
  const [done, total] = ((await page.getByTestId('job-sensitivity-analysis').textContent()) ?? '')
    .match(/(\d+) of (\d+)/)!
    .slice(1)
    .map(Number) as [number, number];
  expect(done).toBeLessThan(total);

  // Another view and back while it runs: the job goes on, its curves are kept in the store.
  await page.getByRole('tab', { name: 'Automatic plans' }).click();
  await expect(page.getByRole('tab', { name: /^Sensitivity \(\d+%\)/ })).toBeVisible();
  await page.getByRole('tab', { name: /^Sensitivity/ }).click();
  await expect(progress).toBeVisible();

  await page.getByRole('button', { name: 'Cancel sensitivity analysis' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Sensitivity analysis cancelled.' })).toBeVisible();
  await expect(progress).toBeHidden();
  await expect(page.getByRole('button', { name: 'Run sensitivity analysis' })).toBeEnabled();

  // A short run to the end: the largest layer only, at 25% and 50%; then "Suggest ratios".
  await page.getByLabel('Number of largest layers').fill('1');
  await page.getByLabel('Ratios in percent').fill('25, 50');
  await page.getByRole('button', { name: 'Run sensitivity analysis' }).click();
  const table = page.getByRole('table', { name: 'Sensitivity results' });
  await expect(page.getByRole('button', { name: 'Suggest ratios' })).toBeVisible({ timeout: 60_000 });
  await expect(table.getByRole('row')).toHaveCount(2);
  // conv2 has most parameters at stake: its filters and dense1's input rows behind the Flatten.
  const row = page.getByTestId('sens-row-conv2');
  const acc25 = Number(await row.locator('td[data-ratio="0.25"]').getAttribute('data-value'));
  expect(acc25).toBeGreaterThan(0.9);
  await expect(page.getByRole('img', { name: /one line per layer/ })).toBeVisible();

  await page.getByRole('tab', { name: 'Automatic plans' }).click();
  await page.getByRole('tab', { name: /^Sensitivity/ }).click();
  await expect(page.getByTestId('sens-row-conv2')).toBeVisible();

  // Suggest the largest ratio that costs at most (just above) the measured drop at 25%.
  const original = Number(await page.getByTestId('sens-original').getAttribute('data-value'));
  const points = Math.ceil((original - acc25) * 1000) / 10 + 0.5;
  await page.getByLabel('Max accuracy drop (points)').fill(String(points));
  await expect(page.getByTestId('suggested-ratios')).toContainText('conv2 25%');
  await page.getByRole('button', { name: 'Suggest ratios' }).click();
  await expect(page.getByTestId('status-conv2')).toHaveText('8 of 32 selected in conv2');
});

test('a global plan to 50% of FLOPs states what it reaches, and applying it gives exactly that', async ({
  page,
}) => {
  await openSample(page);
  await page.getByRole('tab', { name: 'Automatic plans' }).click();
  await page.getByLabel('Global ranking to a target').check();
  await page.getByLabel('Target', { exact: true }).selectOption('flops');
  await page.getByLabel('Share to remove (%)').fill('50');
  const flopsBefore = await after(page, 'flops');
  const reachedFlops = Number(await page.getByTestId('reach-flops').getAttribute('data-value'));
  const reachedParams = Number(await page.getByTestId('reach-params').getAttribute('data-value'));
  const removed = Number(await page.getByTestId('reach-flops-removed').getAttribute('data-value'));
  expect(removed).toBeGreaterThanOrEqual(0.5);
  expect(reachedFlops).toBeLessThanOrEqual(flopsBefore / 2);
  // Nothing changes until it is applied.
  expect(await after(page, 'flops')).toBe(flopsBefore);

  await page.getByRole('button', { name: 'Apply as ticks' }).click();
  await expect.poll(() => after(page, 'flops')).toBe(reachedFlops);
  expect(await after(page, 'parameters')).toBe(reachedParams);
  await expect(page.getByTestId('selection-status')).not.toHaveText(/^0 of 112/);

  // Leaving conv1 alone: the plan no longer touches it.
  await page.getByText('Layers to leave alone').click();
  await page.getByLabel('Leave conv1 alone').check();
  await page.getByRole('button', { name: 'Apply as ticks' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('0 of 16 selected in conv1');
});

test('a data-based criterion scores on the sample set with progress, and can be cancelled', async ({
  page,
}) => {
  await openSample(page);
  await page.getByLabel('Criterion', { exact: true }).selectOption('taylor');
  await expect(page.getByRole('progressbar', { name: 'Scoring progress' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel scoring' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Scoring cancelled.' })).toBeVisible();
  await expect(page.getByLabel('Criterion', { exact: true })).toHaveValue('l1');

  await page.getByLabel('Criterion', { exact: true }).selectOption('apoz');
  await expect(page.getByRole('progressbar', { name: 'Scoring progress' })).toBeHidden({ timeout: 60_000 });
  await expect(page.getByLabel('Criterion', { exact: true })).toHaveValue('apoz');
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters, APOZ/ })).toBeVisible();
});
