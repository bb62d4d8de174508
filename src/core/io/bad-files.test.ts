/**
 * The bad-file corpus (test/bad-files/<area>/cases.json, see src/core/testing/bad-files.ts): every
 * case must end in a typed error with its expected code (or load, with its stated warning) in under
 * 10 s and under 1 GB. Model cases go through `loadModel`; samples cases through `openSampleFiles`
 * (the .plss parser or the image-folder reader, then `checkSamplesFit`) against the bundled sample
 * model; plan cases through `parsePlanFile` against the same model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
// eslint-disable-next-line no-restricted-imports -- the corpus runs in Node: images are decoded as the CLI does
import { decodeImageNode } from '../../node/decode-image';
import { openSampleFiles } from '../evaluate/open-samples';
import { samplesModelOf, type SamplesModel } from '../evaluate/samples-fit';
import { loadModel, type OpenedModel } from '../load';
import { parsePlanFile } from '../plan/plan-file';
import { listBadFileCases, materialiseCase, sampleModelFiles, type BadFileCase } from '../testing/bad-files';
import type { InputFile } from '../ir/artifacts';
import { isModelLoadError } from './errors';
import { modelFingerprint } from './fingerprint';

const TIME_LIMIT_MS = 10_000;
const MEMORY_LIMIT_BYTES = 1024 ** 3;

const cases = listBadFileCases();
let sample: OpenedModel;
let sampleIO: SamplesModel;

beforeAll(async () => {
  sample = await loadModel(await sampleModelFiles());
  sampleIO = samplesModelOf(sample.ir);
});

/** Warnings a loaded result states, wherever the loader puts them (a `warnings` list at the top or in the IR). */
function warningsOf(result: unknown): string[] {
  const out: string[] = [];
  const take = (v: unknown) => {
    if (Array.isArray(v)) for (const w of v) out.push(typeof w === 'string' ? w : JSON.stringify(w));
  };
  if (typeof result === 'object' && result !== null) {
    const r = result as Record<string, unknown>;
    take(r['warnings']);
    const ir = r['ir'];
    if (typeof ir === 'object' && ir !== null) take((ir as Record<string, unknown>)['warnings']);
  }
  return out;
}

/** Runs one case's files through the function its kind names; resolves to what it returned. */
async function runCase(c: BadFileCase, files: InputFile[]): Promise<unknown> {
  if (c.kind === 'model') return loadModel(files);
  if (c.kind === 'samples') return openSampleFiles(files, sampleIO, decodeImageNode);
  const file = files[0]!;
  return parsePlanFile(new TextDecoder().decode(file.bytes), file.path, {
    graph: sample.graph,
    fingerprint: modelFingerprint(sample.ir),
    modelName: sample.ir.name,
  });
}

describe('bad-file corpus', () => {
  it('has the cases the issue asks for: 80 in all, 45 in the archive and samples areas', () => {
    expect(cases.length).toBeGreaterThanOrEqual(80);
    expect(cases.filter((c) => c.area === 'archive' || c.area === 'samples').length).toBeGreaterThanOrEqual(
      45,
    );
  });

  for (const c of cases) {
    const expected = c.code === null ? `loads${c.warning ? ` warning '${c.warning}'` : ''}` : c.code;
    it(`${c.area}/${c.id}: ${expected}`, { timeout: 3 * TIME_LIMIT_MS }, async () => {
      // Generated inputs are made first: only opening them is timed and measured.
      const input = await materialiseCase(c);
      const rssBefore = process.memoryUsage().rss;
      const started = performance.now();
      let result: unknown;
      let error: unknown;
      try {
        result = await runCase(c, input.files);
      } catch (e) {
        error = e;
      } finally {
        await input.cleanup();
      }
      const elapsed = performance.now() - started;
      // maxRSS is the process's high-water mark (KiB): it bounds what this case can have peaked at.
      const peakGrowth = process.resourceUsage().maxRSS * 1024 - rssBefore;

      if (c.code === null) {
        expect(error, `${c.id} (${c.why}) should load`).toBeUndefined();
        if (c.warning !== undefined) {
          const warnings = warningsOf(result);
          expect(
            warnings.some((w) => w.includes(c.warning!)),
            `${c.id}: warnings ${JSON.stringify(warnings)}`,
          ).toBe(true);
        }
      } else {
        expect(isModelLoadError(error), `${c.id} (${c.why}) gave ${String(error)}`).toBe(true);
        const e = error as Error & { code: string };
        expect(e.code, `${c.id}: ${e.message}`).toBe(c.code);
        // Short messages: quoted lists are capped.
        expect(e.message.length, e.message.slice(0, 300)).toBeLessThan(1200);
      }
      expect(elapsed, `${c.id} took ${Math.round(elapsed)} ms`).toBeLessThan(TIME_LIMIT_MS);
      expect(
        peakGrowth,
        `${c.id} peaked ${Math.round(peakGrowth / 2 ** 20)} MiB above its start`,
      ).toBeLessThan(MEMORY_LIMIT_BYTES);
    });
  }
});
