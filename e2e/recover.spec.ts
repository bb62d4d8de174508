import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { parseSampleSet } from '../src/core/evaluate/sample-set';
import { SAMPLE_DIR } from './helpers';

/** 100 bundled digits as PNGs in class folders digits/0..9, plus one file that is no image. */
function makeDigitFolder(): { root: string; folder: string } {
  const root = mkdtempSync(join(tmpdir(), 'prunelab-e2e-digits-'));
  const folder = join(root, 'digits');
  const set = parseSampleSet(new Uint8Array(readFileSync(join(SAMPLE_DIR, 'mnist-heldout.plss'))), 'plss');
  const per = set.height * set.width;
  for (let i = 0; i < 100; i++) {
    const png = new PNG({ width: set.width, height: set.height });
    for (let p = 0; p < per; p++) {
      const v = set.pixels[i * per + p]!;
      png.data.set([v, v, v, 255], 4 * p);
    }
    const dir = join(folder, String(set.labels![i]));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `digit-${i}.png`), PNG.sync.write(png));
  }
  writeFileSync(join(folder, '3', 'broken.png'), 'not an image');
  return { root, folder };
}

test('own image folder: per-class accuracy and confusion, prune, fine-tune one epoch, download with provenance', async ({
  page,
}) => {
  const { root, folder } = makeDigitFolder();
  try {
    await page.goto('/?backend=wasm');
    await expect(page.getByTestId('backend')).toHaveText('Backend: wasm');
    await page.getByRole('button', { name: 'Open the sample' }).click();
    await expect(page.getByRole('img', { name: /conv2 filter importance/ })).toBeVisible();

    await page.getByRole('tab', { name: 'Samples' }).click();
    await page.getByLabel('Choose an image folder').setInputFiles(folder);
    await expect(page.getByTestId('image-set-summary')).toContainText('labels from folders, 10 classes');
    await expect(page.getByText(/Sample set: digits, 100 images 28×28×1/)).toBeVisible();
    await expect(page.getByTestId('bad-count')).toHaveText('1 skipped samples');
    await expect(page.getByRole('list', { name: 'Skipped samples' })).toContainText('broken.png');
    await expect(page.getByLabel('Preprocessed samples').locator('canvas')).not.toHaveCount(0);

    // Class names edited in the page name the outputs: the preview strip's labels follow them.
    await page.getByText(/^Class names \(10\)/).click();
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    await page.getByLabel('Class names, one per line').fill(words.join('\n'));
    await page.getByRole('button', { name: 'Apply class names' }).click();
    await expect(page.getByLabel('Preprocessed samples')).toContainText(new RegExp(words.join('|')));
    await expect(page.getByTestId('bad-count')).toHaveText('1 skipped samples');

    await page.getByRole('tab', { name: 'Filters' }).click();
    await page.getByRole('button', { name: 'Select lowest 50% of conv2' }).click();
    await expect(page.getByTestId('status-conv2')).toHaveText('16 of 32 selected in conv2');
    await page.getByRole('tab', { name: 'Accuracy views' }).click();

    await page.getByRole('button', { name: 'Compare original and pruned' }).click();
    await expect(page.getByTestId('per-class').locator('tbody tr')).toHaveCount(10);
    for (const which of ['original', 'pruned']) {
      const counts = await page
        .getByTestId(`confusion-${which}`)
        .locator('td[data-count]')
        .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-count'))));
      expect(counts).toHaveLength(100);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(100);
    }
    await expect(page.getByTestId('cmp-top1-original')).toContainText('%');
    await expect(page.getByTestId('cmp-flops-ratio')).toContainText('%');

    await page.getByRole('tab', { name: 'Recover' }).click();
    await page.getByRole('button', { name: 'Re-estimate BatchNorm' }).click();
    await expect(page.getByText(/BatchNorm re-estimated in [1-9]\d* layers/)).toBeVisible();

    await page.getByLabel('Epochs').fill('1');
    await page.getByRole('button', { name: 'Fine-tune' }).click();
    await expect(page.getByTestId('curve-table').locator('tbody tr')).toHaveCount(1);
    await expect(page.getByTestId('finetune-result')).toContainText('before');
    await expect(page.getByTestId('recovered-note')).toContainText(
      'BatchNorm re-estimated, fine-tuned 1 epoch',
    );

    const downloadPromise = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download .zip' }).click();
    const download = await downloadPromise;
    const zipped = unzipSync(new Uint8Array(readFileSync(await download.path())));
    const jsonPath = Object.keys(zipped).find((p) => p.endsWith('model.json'))!;
    const json = JSON.parse(new TextDecoder().decode(zipped[jsonPath])) as {
      userDefinedMetadata: {
        prunelab: { plan: { remove: Record<string, number[]> }; finetune: { epochs: number }[] };
      };
    };
    expect(json.userDefinedMetadata.prunelab.plan.remove.conv2).toHaveLength(16);
    expect(json.userDefinedMetadata.prunelab.finetune).toHaveLength(1);
    expect(json.userDefinedMetadata.prunelab.finetune[0]!.epochs).toBe(1);

    // A changed plan has no recovered weights (they stay with their plan), and the page says so.
    await page.getByRole('tab', { name: 'Filters' }).click();
    await page.getByRole('button', { name: 'Clear conv2' }).click();
    await expect(page.getByTestId('download-holds')).toContainText('model as it came in');
    await page.getByRole('tab', { name: 'Recover' }).click();
    await expect(page.getByTestId('recovered-stale')).toBeVisible();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
