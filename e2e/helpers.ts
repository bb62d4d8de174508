import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';

export const SAMPLE_DIR = join(import.meta.dirname, '..', 'public', 'samples');
export const SAMPLE_FILES = [
  join(SAMPLE_DIR, 'mnist-cnn', 'model.json'),
  join(SAMPLE_DIR, 'mnist-cnn', 'group1-shard1of1.bin'),
  join(SAMPLE_DIR, 'mnist-heldout.plss'),
];

/** Drops files on the page with a real DataTransfer drop event, as a user's drag and drop does. */
export async function dropFiles(page: Page, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, b64: Buffer.from(f.bytes).toString('base64') }));
  const dataTransfer = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const it of items) {
      const bin = atob(it.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], it.name));
    }
    return dt;
  }, payload);
  const target = page.getByTestId('drop-target');
  await target.dispatchEvent('dragenter', { dataTransfer });
  await target.dispatchEvent('dragover', { dataTransfer });
  await target.dispatchEvent('drop', { dataTransfer });
}

/** The sample files as name + bytes, in a shuffled order (users drop files in any order). */
export function sampleFilesForDrop(): { name: string; bytes: Uint8Array }[] {
  const [json, shard, set] = SAMPLE_FILES as [string, string, string];
  return [
    { name: 'group1-shard1of1.bin', bytes: readFileSync(shard) },
    { name: 'mnist-heldout.plss', bytes: readFileSync(set) },
    { name: 'model.json', bytes: readFileSync(json) },
  ];
}

/** Fails the test on any request to a host other than the app's own. */
export function forbidForeignRequests(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) foreign.push(url);
  });
  return foreign;
}
