import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZOO } from '../core/testing/zoo';
import { artifactsFromLayersModel, loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { openModelFiles } from '../core/io/open-model';
import { runCli as run } from './run-cli';

let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'prunelab-zoo-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prunelab inspect and prune on real CNN graphs', () => {
  for (const [name, build] of Object.entries(ZOO)) {
    it(`${name}: inspect lists coupled groups; prune 30% writes a model with the predicted params`, async () => {
      const m = build();
      const src = join(dir, name);
      mkdirSync(src, { recursive: true });
      for (const f of writeTfjsModel(await artifactsFromLayersModel(m)))
        writeFileSync(join(src, f.path), f.bytes);
      m.dispose();

      const inspected = await run('inspect', join(src, 'model.json'), '--json');
      expect(inspected.code, inspected.err).toBe(0);
      const s = JSON.parse(inspected.out) as {
        groups: { producers?: string[]; prunable: boolean; reason?: string }[];
      };
      expect(s.groups.some((g) => g.prunable)).toBe(true);
      for (const g of s.groups) if (!g.prunable) expect(g.reason).toBeTruthy();

      const out = join(dir, `${name}-pruned`);
      const r = await run('prune', join(src, 'model.json'), '--ratio', '0.3', '--out', out, '--json');
      expect(r.code, r.err).toBe(0);
      const summary = JSON.parse(r.out) as { removed: number; params: { before: number; after: number } };
      expect(summary.removed).toBeGreaterThan(0);
      expect(summary.params.after).toBeLessThan(summary.params.before);
      const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
        weightsManifest: { paths: string[] }[];
      };
      const files = ['model.json', ...json.weightsManifest.flatMap((g) => g.paths)].map((p) => ({
        path: p,
        bytes: new Uint8Array(readFileSync(join(out, p))),
      }));
      const pruned = await loadLayersModelFromArtifacts(await openModelFiles(files));
      expect(pruned.countParams()).toBe(summary.params.after);
      pruned.dispose();
    });
  }
});
