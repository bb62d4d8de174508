import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { inceptionV3 } from '../src/core/testing/bench-models';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';
import { dropFiles } from './helpers';

/** Screenshots of each main state, for people to look at (README: "Screenshots"). */
const SHOTS = join(import.meta.dirname, 'screenshots');
mkdirSync(SHOTS, { recursive: true });

const SIZES = [
  { width: 1440, height: 900 },
  { width: 1024, height: 768 },
  { width: 800, height: 900 },
];

async function noSidewaysScroll(page: Page): Promise<void> {
  const [scroll, inner] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    window.innerWidth,
  ]);
  expect(scroll, 'page width').toBeLessThanOrEqual(inner);
}

async function serious(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    bad.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(' | ')}`,
    ),
    `${what}: serious or critical accessibility violations`,
  ).toEqual([]);
}

for (const size of SIZES) {
  test(`at ${size.width}x${size.height}: no sideways scrolling, totals stay visible while ticking`, async ({
    page,
  }) => {
    await page.setViewportSize(size);
    await page.goto('/?backend=wasm');
    await noSidewaysScroll(page);
    await page.screenshot({ path: join(SHOTS, `start-${size.width}.png`) });
    await page.getByRole('button', { name: 'Open the sample' }).click();
    await expect(page.getByRole('img', { name: /dense1 filter importance/ })).toBeVisible();
    await noSidewaysScroll(page);
    // Scroll to the last heatmap and tick: the totals bar is still on screen and shows the new figure.
    const dense = page.getByRole('img', { name: /dense1 filter importance/ });
    await dense.scrollIntoViewIfNeeded();
    const before = await page.getByTestId('total-parameters').locator('td').nth(1).getAttribute('data-value');
    await page.getByRole('button', { name: 'Select lowest 50% of dense1' }).click();
    await expect(page.getByTestId('total-parameters').locator('td').nth(1)).not.toHaveAttribute(
      'data-value',
      before!,
    );
    await expect(page.getByRole('region', { name: 'Totals' })).toBeInViewport();
    await expect(page.getByTestId('model-name')).toContainText('mnist-cnn');
    await page.screenshot({ path: join(SHOTS, `sample-${size.width}.png`) });
    for (const tab of ['Accuracy views', 'Sensitivity', 'Recover', 'Samples']) {
      await page.getByRole('tab', { name: tab }).click();
      await noSidewaysScroll(page);
    }
  });
}

test('the start page and the loaded sample have no serious accessibility violations; help lists the shortcuts', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await serious(page, 'start page');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv2 filter importance/ })).toBeVisible();
  await serious(page, 'sample');
  await page.getByRole('tab', { name: 'Graph' }).click();
  await serious(page, 'graph');
  await page.keyboard.press('?');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toContainText('Undo');
  await page.screenshot({ path: join(SHOTS, 'help.png') });
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog', { name: 'Keyboard shortcuts' })).toHaveCount(0);
  // Keyboard: Alt+1 back to the filters, '/' to the search.
  await page.keyboard.press('Alt+1');
  await expect(page.getByRole('tab', { name: 'Filters' })).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('/');
  await expect(page.getByLabel('Search layers')).toBeFocused();
});

test('heatmaps: legend with the range, sorted order, global scale, histogram threshold as one undoable step', async ({
  page,
}) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  const heat = page.getByRole('img', { name: /^conv2 filter importance/ });
  await expect(heat).toBeVisible();
  await expect(page.getByRole('group', { name: 'Colour scale' })).toContainText('each layer');
  await page.getByLabel('Heatmap order').selectOption('score');
  await expect(heat).toHaveAttribute('aria-label', /sorted by score/);
  const order = (await heat.getAttribute('data-order'))!.split(',').map(Number);
  expect(order).toHaveLength(32);
  // Sorted order: the first cell is the lowest-scored filter; clicking it ticks that filter.
  const box = (await heat.boundingBox())!;
  const cols = Number(await heat.getAttribute('data-cols'));
  await heat.click({ position: { x: box.width / cols / 2, y: box.height / 2 } });
  await expect(heat).toHaveAttribute('data-selected', String(order[0]));
  await page.getByLabel('Heatmap colour scale').selectOption('global');
  await expect(page.getByRole('group', { name: 'Colour scale' })).toContainText('one scale for all layers');
  // The histogram: drag to the middle, release: the filters below are ticked, as one step.
  const slider = page.getByRole('slider', { name: 'conv2 score threshold: tick every filter below' });
  const sb = (await slider.boundingBox())!;
  await page.mouse.move(sb.x + 2, sb.y + sb.height / 2);
  await page.mouse.down();
  await page.mouse.move(sb.x + sb.width * 0.6, sb.y + sb.height / 2, { steps: 5 });
  await page.mouse.up();
  const text = (await page.getByTestId('threshold-conv2').textContent())!;
  const below = Number(/: (\d+) of 32/.exec(text)![1]);
  expect(below).toBeGreaterThan(0);
  await expect(page.getByTestId('status-conv2')).toHaveText(`${below} of 32 selected in conv2`);
  await expect(page.getByRole('region', { name: 'History' }).locator('[aria-current="step"]')).toContainText(
    'below',
  );
  await page.keyboard.press('Control+z');
  await expect(page.getByTestId('status-conv2')).toHaveText('1 of 32 selected in conv2');
  await page.screenshot({ path: join(SHOTS, 'heatmaps-sorted.png') });
  // Out-of-range shares are refused inline, before any action.
  await page.getByLabel('Percent of filters to select in all layers').fill('150');
  await expect(page.getByText('Choose 0 to 99%')).toBeVisible();
  await expect(page.getByRole('button', { name: /Select lowest 150% in all layers/ })).toBeDisabled();
});

test('an InceptionV3-size model: the navigator finds a layer, jumps to it, and only visible heatmaps exist', async ({
  page,
}) => {
  await tf.setBackend('cpu');
  const m = inceptionV3(75, 10);
  const files = writeTfjsModel(await artifactsFromLayersModel(m));
  m.dispose();
  await page.goto('/?backend=wasm');
  // Over Playwright's 50 MB in-memory limit: written to files, picked like a user picks them.
  const dir = mkdtempSync(join(tmpdir(), 'prunelab-inception-'));
  for (const f of files) writeFileSync(join(dir, f.path), f.bytes);
  await page.getByLabel('Choose model files').setInputFiles(files.map((f) => join(dir, f.path)));
  await expect(page.getByTestId('cards-virtual')).toBeVisible();
  const groups = Number(/of (\d+) groups/.exec((await page.getByTestId('nav-count').textContent())!)![1]);
  expect(groups).toBeGreaterThan(60);
  // Only the cards on screen (plus a few) are in the page.
  const rendered = await page.getByRole('img', { name: /filter importance/ }).count();
  expect(rendered).toBeLessThan(20);
  const last =
    (await page
      .getByRole('navigation', { name: 'Layers and groups' })
      .getByRole('button')
      .last()
      .textContent()) ?? '';
  await page.getByLabel('Search layers').fill('conv2d_90');
  await expect(page.getByTestId('nav-count')).not.toHaveText(`${groups} of ${groups} groups`);
  const hit = page.getByRole('navigation', { name: 'Layers and groups' }).getByRole('button').first();
  const name = (await hit.locator('.nav-name').textContent())!;
  await hit.click();
  await expect(page.getByRole('article', { name: `Layer ${name}` })).toBeInViewport();
  await expect(page.getByRole('region', { name: 'Inspector' })).toContainText(name);
  await noSidewaysScroll(page);
  await page.screenshot({ path: join(SHOTS, 'inception-search.png') });
  expect(last).not.toBe('');
});

test('a drop says what it was taken as: model and sample set, or a plan file', async ({ page }) => {
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByTestId('drop-info')).toHaveText(
    /Opened mnist-cnn \(bundled sample\) as the model and mnist-heldout\.plss as the sample set\./,
  );
  const plan = JSON.stringify({ version: 1, remove: { conv1: [0, 1] } });
  await dropFiles(page, [{ name: 'my-plan.json', bytes: new TextEncoder().encode(plan) }]);
  await expect(page.getByTestId('drop-info')).toHaveText(/Opened my-plan\.json as a plan\./);
  await expect(page.getByTestId('status-conv1')).toHaveText('2 of 16 selected in conv1');
  await expect(page.getByRole('region', { name: 'History' }).locator('[aria-current="step"]')).toContainText(
    'open plan file my-plan.json',
  );
});
