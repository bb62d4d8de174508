import { expect, test } from '@playwright/test';

test('latency on this device: calibrate, plan to 1.5x faster, apply as one step, measure predicted against measured', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv2 filter importance/ })).toBeVisible();
  await page.getByRole('tab', { name: 'Automatic plans' }).click();
  await page.getByLabel('Latency on this device').check();
  await page.getByRole('button', { name: 'Calibrate on this device' }).click();
  await expect(page.getByTestId('latency-baseline')).toBeVisible({ timeout: 110_000 });
  const baseline = Number(await page.getByTestId('latency-baseline').getAttribute('data-value'));
  expect(baseline).toBeGreaterThan(0);
  await page.getByLabel('Target speed-up (x faster)').fill('1.5');
  const speedup = page.getByTestId('reach-speedup');
  await expect(speedup).toBeVisible();
  const stated = Number(await speedup.getAttribute('data-value'));
  expect(stated).toBeGreaterThan(1.2);
  await page
    .getByRole('region', { name: 'Automatic plans' })
    .getByRole('button', { name: 'Apply as ticks' })
    .click();
  await expect(page.getByRole('region', { name: 'History' }).locator('[aria-current="step"]')).toContainText(
    /latency plan/,
  );
  await expect(page.getByTestId('selection-status')).not.toContainText('0 of 112');
  await page.getByRole('button', { name: 'Measure' }).click();
  const measured = page.getByTestId('latency-measured');
  await expect(measured).toBeVisible({ timeout: 110_000 });
  expect(Number(await measured.getAttribute('data-value'))).toBeGreaterThan(0);
  await expect(measured).toContainText('predicted');
});
