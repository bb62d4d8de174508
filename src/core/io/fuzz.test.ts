/**
 * Seeded fuzz (src/core/testing/fuzz.ts, run by scripts/fuzz-runner.ts in a child process with a
 * watchdog): a few hundred mutations of the bundled sample, a Keras 2.13 `.keras` and a ResNet-8 `.h5`,
 * each through load -> applyPlan -> tfjs build -> predict. Every failure must be a ModelLoadError, no
 * case may hang (10 s) or kill the process, and no case may leave a tensor behind.
 * `npm run fuzz -- --n 10000` runs the long version.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../../scripts/fuzz-runner';

describe('model fuzz', () => {
  it('300 seeded mutations: typed errors only, no hang, no crash, no leaked tensor', async () => {
    const report = await runFuzz({ n: 300, seed: 20240601, timeoutMs: 10_000 });
    const bad = report.cases.filter(
      (c) => c.result === 'untyped' || c.result === 'hang' || c.result === 'crash' || c.leaked !== 0,
    );
    expect(
      bad.map((c) => `case ${c.index} (${c.seed}) ${c.result}: ${c.mutation} -> ${c.message ?? ''}`),
    ).toEqual([]);
    expect(report.cases).toHaveLength(300);
    // The mutations must reach every stage: some cases load and run, most are refused by name.
    expect(report.cases.filter((c) => c.result === 'accepted').length).toBeGreaterThan(20);
    expect(new Set(report.cases.map((c) => c.code)).size).toBeGreaterThan(5);
  }, 120_000);
});
