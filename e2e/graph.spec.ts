import { mkdirSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import { inceptionStyle } from '../src/core/testing/zoo';
import { artifactsFromLayersModel } from '../src/core/io/tf-artifacts';
import { writeTfjsModel } from '../src/core/io/export-tfjs';

const SHOTS = 'e2e/screenshots';
mkdirSync(SHOTS, { recursive: true });

const SAMPLE_NODES = [
  'conv1, Conv2D, 28×28×16',
  'bn1, BatchNormalization, 28×28×16',
  'relu1, ReLU, 28×28×16',
  'pool1, MaxPooling2D, 14×14×16',
  'conv2, Conv2D, 14×14×32',
  'bn2, BatchNormalization, 14×14×32',
  'relu2, ReLU, 14×14×32',
  'pool2, MaxPooling2D, 7×7×32',
  'flatten, Flatten, 1568',
  'dense1, Dense, 64',
  'dense_out, Dense, 10',
];

async function scaleOf(graph: Locator): Promise<number> {
  return Number(await graph.getAttribute('data-scale'));
}

test('the sample as a graph: every layer, zoom by button and keys, a click focuses the group, channels on the edges', async ({
  page,
}) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/?backend=wasm');
  await page.getByRole('button', { name: 'Open the sample' }).click();
  await expect(page.getByRole('img', { name: /conv1 filter importance: 16 filters/ })).toBeVisible();
  await page.getByRole('button', { name: 'Select lowest 50% of conv1' }).click();
  await expect(page.getByTestId('status-conv1')).toHaveText('8 of 16 selected in conv1');

  await page.getByRole('tab', { name: 'Graph' }).click();
  const graph = page.getByRole('region', { name: 'Model graph: 11 layers, 10 connections' });
  await expect(graph).toBeVisible();
  // Every layer is a node, named by layer, class and output shape.
  await expect(graph.getByRole('button')).toHaveCount(SAMPLE_NODES.length);
  for (const name of SAMPLE_NODES)
    await expect(graph.getByRole('button', { name, exact: true })).toBeVisible();
  // No serious or critical accessibility violations in the graph (with a plan, labels and a frozen node on screen).
  const audit = await new AxeBuilder({ page }).include('[data-testid="graph-view"]').analyze();
  const serious = audit.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id} (${v.nodes.length}): ${v.help}`)).toEqual([]);
  expect(audit.passes.length).toBeGreaterThan(5);
  // The output layer's group is frozen, with the reason.
  await expect(graph.getByRole('button', { name: 'dense_out, Dense, 10' })).toHaveAccessibleDescription(
    /^Frozen: .*model's output/,
  );
  // Half of conv1 is ticked: its tensor loses 8 of 16 channels on the four edges from conv1 to conv2.
  const labels = graph.getByTestId('edge-label');
  await expect(labels).toHaveCount(4);
  await expect(graph.getByText('16 → 8', { exact: true })).toHaveCount(4);
  expect(await labels.evaluateAll((ls) => ls.map((l) => l.getAttribute('data-from')))).toEqual([
    'conv1',
    'bn1',
    'relu1',
    'pool1',
  ]);

  // Zoom in with the button: the layer's transform scales by 1.25 around the view's centre.
  const layer = page.getByTestId('graph-layer');
  const k0 = await scaleOf(graph);
  expect(k0).toBeGreaterThan(0.3);
  const t0 = await layer.evaluate((el) => el.style.transform);
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await expect.poll(() => scaleOf(graph)).toBeCloseTo(k0 * 1.25, 3);
  const t1 = await layer.evaluate((el) => el.style.transform);
  expect(t1).not.toBe(t0);
  expect(t1).toContain(`scale(${k0 * 1.25}`.slice(0, 10));
  // Keys on the focused graph: - zooms back, arrows pan, 0 fits.
  await graph.focus();
  await page.keyboard.press('-');
  await expect.poll(() => scaleOf(graph)).toBeCloseTo(k0, 3);
  const x0 = Number(await graph.getAttribute('data-x'));
  await page.keyboard.press('ArrowLeft');
  await expect.poll(async () => Number(await graph.getAttribute('data-x'))).toBeCloseTo(x0 + 80, 1);
  await page.keyboard.press('0');
  await expect.poll(async () => Number(await graph.getAttribute('data-x'))).not.toBeCloseTo(x0 + 80, 1);

  // Clicking a node focuses its group: the group's layer card becomes the focused one.
  await graph.getByRole('button', { name: 'conv2, Conv2D, 14×14×32' }).click();
  await expect(page.getByRole('article', { name: 'Layer conv2', includeHidden: true })).toHaveClass(
    /focused/,
  );
  await expect(graph.getByRole('button', { name: 'conv2, Conv2D, 14×14×32' })).toHaveAttribute(
    'aria-current',
    'true',
  );
  // A BatchNorm belongs to its conv's group: clicking it focuses conv1's card, not conv2's.
  await graph.getByRole('button', { name: 'bn1, BatchNormalization, 28×28×16' }).click();
  await expect(page.getByRole('article', { name: 'Layer conv1', includeHidden: true })).toHaveClass(
    /focused/,
  );
  await expect(page.getByRole('article', { name: 'Layer conv2', includeHidden: true })).not.toHaveClass(
    /focused/,
  );
  await expect(graph.locator('.mg-coupled')).toHaveCount(5); // conv1, bn1, relu1, pool1 and conv2 (reads them)

  await graph.getByRole('button', { name: 'dense_out, Dense, 10' }).hover();
  await expect(page.getByRole('tooltip')).toContainText(
    "Frozen: Dense 'dense_out' produces the model's output",
  );
  await page.getByTestId('graph-view').screenshot({ path: `${SHOTS}/graph-sample.png` });
});

test('an Inception-style model: concatenations laid out, drag pans, wheel zooms at the pointer, minimap moves the view', async ({
  page,
}) => {
  await tf.setBackend('cpu');
  const m = inceptionStyle();
  const files = writeTfjsModel(await artifactsFromLayersModel(m));
  const layerCount = m.layers.length;
  m.dispose();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto('/?backend=wasm');
  await page.getByLabel('Choose model files').setInputFiles(
    files.map((f) => ({
      name: f.path,
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(f.bytes),
    })),
  );
  await expect(page.getByRole('article', { name: 'Layer stem' })).toBeVisible();
  await page.getByRole('tab', { name: 'Graph' }).click();
  const graph = page.getByRole('region', { name: new RegExp(`^Model graph: ${layerCount} layers`) });
  await expect(graph.getByRole('button')).toHaveCount(layerCount);
  await expect(graph.getByRole('button', { name: /^mixed_ab, Concatenate, 8×8×\d+$/ })).toBeVisible();

  // Drag on the background pans by the pointer's travel, at the same scale.
  const box = (await graph.boundingBox())!;
  const k0 = await scaleOf(graph);
  const y0 = Number(await graph.getAttribute('data-y'));
  await page.mouse.move(box.x + 20, box.y + box.height - 30);
  await page.mouse.down();
  await page.mouse.move(box.x + 20, box.y + box.height - 130, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => Number(await graph.getAttribute('data-y'))).toBeCloseTo(y0 - 100, 0);
  expect(await scaleOf(graph)).toBe(k0);

  // Wheel zoom keeps the content point under the pointer in place.
  const px = box.x + box.width / 2;
  const py = box.y + 200;
  const before = await graph.evaluate((el) => ({
    x: Number(el.dataset.x),
    y: Number(el.dataset.y),
    k: Number(el.dataset.scale),
  }));
  await page.mouse.move(px, py);
  await page.mouse.wheel(0, -200);
  await expect.poll(() => scaleOf(graph)).toBeGreaterThan(before.k * 1.2);
  const after = await graph.evaluate((el) => ({
    x: Number(el.dataset.x),
    y: Number(el.dataset.y),
    k: Number(el.dataset.scale),
  }));
  const cx = (px - box.x - before.x) / before.k;
  expect(after.x + cx * after.k).toBeCloseTo(px - box.x, 0);

  // Zoomed in, the graph is larger than the view: the minimap shows, and a click on it moves the view.
  const minimap = page.getByRole('img', { name: /Minimap/ });
  await expect(minimap).toBeVisible();
  const mm = (await minimap.boundingBox())!;
  const yBefore = Number(await graph.getAttribute('data-y'));
  await minimap.click({ position: { x: mm.width / 2, y: mm.height - 4 } });
  await expect.poll(async () => Number(await graph.getAttribute('data-y'))).toBeLessThan(yBefore - 50);
  await expect(graph.getByRole('button', { name: /^logits, Dense, 3$/ })).toBeInViewport();

  await page.getByRole('button', { name: 'Fit graph to view' }).click();
  await expect.poll(() => scaleOf(graph)).toBeLessThan(0.55);
  await page.getByTestId('graph-view').screenshot({ path: `${SHOTS}/graph-inception-style.png` });

  // Focus from elsewhere (pointing at a heatmap) opens the graph on that layer at 100%, kept zoomed out otherwise.
  await page.getByRole('tab', { name: 'Filters' }).click();
  await page.getByRole('img', { name: /^b_split filter importance/ }).hover();
  await page.getByRole('tab', { name: 'Graph' }).click();
  await expect.poll(() => scaleOf(graph)).toBe(1);
  await expect(graph.getByRole('button', { name: /^b_split, Conv2D/ })).toHaveAttribute(
    'aria-current',
    'true',
  );
  await expect(graph.getByRole('button', { name: /^b_split, Conv2D/ })).toBeInViewport({ ratio: 1 });
});
