/** `prune` / `plan` with `--target-latency` and `--target-speedup` (no timed assertions: only what the report must hold). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run } from './run-cli';

const sample = join(import.meta.dirname, '../../public/samples/mnist-cnn/model.json');
const dir = mkdtempSync(join(tmpdir(), 'prunelab-latency-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prune --target-speedup / --target-latency', () => {
  it('states the predicted latency, then the measured one, and keeps every layer non-empty', async () => {
    const out = join(dir, 'fast');
    const r = await run(
      'prune',
      sample,
      '--target-speedup',
      '1.5',
      '--max-ratio',
      '0.9',
      '--out',
      out,
      '--json',
    );
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as {
      removed: number;
      mode: string;
      latency: {
        target: { kind: string; factor: number };
        backend: string;
        baselineMs: number;
        predictedMs: number;
        predictedSpeedup: number;
        measuredMs: number;
        measuredBaselineMs: number;
        measuredSpeedup: number;
      };
      met: boolean;
    };
    expect(s.mode).toBe('global');
    expect(s.latency.target).toEqual({ kind: 'speedup', factor: 1.5 });
    expect(s.latency.backend).toBe('cpu');
    expect(s.latency.predictedSpeedup).toBeCloseTo(s.latency.baselineMs / s.latency.predictedMs, 9);
    if (s.met) expect(s.latency.predictedMs).toBeLessThanOrEqual(s.latency.baselineMs / 1.5 + 1e-9);
    expect(s.removed).toBeGreaterThan(0);
    expect(s.latency.measuredMs).toBeGreaterThan(0);
    expect(s.latency.measuredSpeedup).toBeCloseTo(s.latency.measuredBaselineMs / s.latency.measuredMs, 9);
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      modelTopology: { model_config?: { config: { layers: { config: { filters?: number } }[] } } };
    };
    const layers = model.modelTopology.model_config?.config.layers ?? [];
    for (const l of layers)
      if (l.config.filters !== undefined) expect(l.config.filters).toBeGreaterThanOrEqual(1);
  });

  it('plan --target-latency writes the plan and says predicted in words', async () => {
    const out = join(dir, 'plan.json');
    const r = await run('plan', sample, '--target-latency', '1000', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Latency target 1000 ms on cpu: predicted [\d.]+ ms of [\d.]+ ms/);
    // 1000 ms is slower than the model already runs: nothing needs to go.
    expect((JSON.parse(readFileSync(out, 'utf8')) as { remove: object }).remove).toEqual({});
  });

  it('refuses both flags, bad values, and a mix with other targets (exit 2)', async () => {
    const out = join(dir, 'x');
    for (const args of [
      ['--target-speedup', '2', '--target-latency', '3'],
      ['--target-speedup', '0.5'],
      ['--target-latency', 'fast'],
      ['--target-speedup', '2', '--target-flops', '0.5'],
      ['--target-speedup', '2', '--keep', 'conv1=4'],
    ]) {
      const r = await run('prune', sample, ...args, '--out', out);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/--target-(speedup|latency)/);
    }
  });
});

describe('prune --target-flops --for-speed', () => {
  it('reports the FLOPs plan predicted here, how it was ranked, and the measured speed-up', async () => {
    const out = join(dir, 'for-speed');
    const r = await run('prune', sample, '--target-flops', '0.5', '--for-speed', '--out', out, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as {
      removedShare: { flops: number };
      flops: { before: number; after: number };
      met: boolean;
      speed: {
        backend: string;
        baselineMs: number;
        predictedMs: number;
        predictedSpeedup: number;
        flopsRatio: number;
        plainPredictedSpeedup: number;
        strength: number;
        realized: boolean;
        importanceRatio: number;
        measuredSpeedup: number;
        measuredMs: number;
        measuredBaselineMs: number;
      };
    };
    expect(s.met).toBe(true);
    expect(s.removedShare.flops).toBeGreaterThanOrEqual(0.5);
    expect(s.speed.backend).toBe('cpu');
    expect(s.speed.flopsRatio).toBeCloseTo(s.flops.before / s.flops.after, 9);
    expect(s.speed.predictedSpeedup).toBeCloseTo(s.speed.baselineMs / s.speed.predictedMs, 9);
    expect(s.speed.realized).toBe(s.speed.predictedSpeedup >= 0.95 * s.speed.flopsRatio - 1e-9);
    // Weighted only when that realizes the ratio; the plain ranking otherwise (importance ratio 1).
    if (s.speed.strength > 0) expect(s.speed.realized).toBe(true);
    else expect(s.speed.importanceRatio).toBe(1);
    expect(s.speed.measuredSpeedup).toBeCloseTo(s.speed.measuredBaselineMs / s.speed.measuredMs, 9);
    const text = await run(
      'plan',
      sample,
      '--target-flops',
      '0.5',
      '--for-speed',
      '--out',
      join(dir, 'p.json'),
    );
    expect(text.code).toBe(0);
    expect(text.out).toMatch(
      /For speed: FLOPs \/[\d.]+, predicted [\d.]+x faster here, (ranked for speed|the plain ranking) on cpu/,
    );
  });

  it('refuses --for-speed without --target-flops (exit 2, naming the flag)', async () => {
    for (const args of [[], ['--target-params', '0.5'], ['--global'], ['--target-speedup', '2']]) {
      const r = await run('prune', sample, '--for-speed', ...args, '--out', join(dir, 'y'));
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/--for-speed|--target-(speedup|latency)/);
    }
  });
});
