import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { openModelFiles } from '../core/io/open-model';
import { runCli as run } from './run-cli';

let dir: string;
let modelJson: string;
let samples: string;
let originalParams = 0;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = mkdtempSync(join(tmpdir(), 'prunelab-cli-'));
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1' }));
  m.add(tf.layers.batchNormalization({ name: 'bn1' }));
  m.add(tf.layers.reLU({ name: 'relu1' }));
  m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  originalParams = m.countParams();
  const files = writeTfjsModel(await artifactsFromLayersModel(m));
  mkdirSync(join(dir, 'model'));
  for (const f of files) writeFileSync(join(dir, 'model', f.path), f.bytes);
  modelJson = join(dir, 'model', 'model.json');
  // A labelled sample set whose labels are the model's own predictions: accuracy must be exactly 1.
  const n = 20;
  const pixels = new Uint8Array(n * 64).map((_, i) => (i * 37) % 256);
  const x = tf.tensor4d(
    Float32Array.from(pixels, (p) => p / 255),
    [n, 8, 8, 1],
  );
  const y = m.predict(x) as tf.Tensor;
  const labels = Uint8Array.from(await y.argMax(-1).data());
  tf.dispose([x, y]);
  m.dispose();
  samples = join(dir, 'set.plss');
  writeFileSync(
    samples,
    encodeSampleSet({ count: n, height: 8, width: 8, channels: 1, numClasses: 3, pixels, labels }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prunelab CLI', () => {
  it('--help documents every command', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const c of [
      'inspect',
      'prune',
      'evaluate',
      '--criterion',
      '--ratio',
      '--plan',
      '--samples',
      '--json',
    ]) {
      expect(r.out).toContain(c);
    }
  });

  it('inspect --json lists layers, groups and totals', async () => {
    const r = await run('inspect', modelJson, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as {
      layers: { name: string }[];
      groups: { producer: string; prunable: boolean; reason?: string }[];
      totals: { params: number };
    };
    expect(s.layers.map((l) => l.name)).toEqual(['conv1', 'bn1', 'relu1', 'conv2', 'flatten', 'out']);
    expect(s.totals.params).toBe(originalParams);
    expect(s.groups.find((g) => g.producer === 'conv1')?.prunable).toBe(true);
    expect(s.groups.find((g) => g.producer === 'out')?.prunable).toBe(false);
  });

  it('prune --ratio writes a smaller model with provenance that evaluates', async () => {
    const out = join(dir, 'pruned');
    const r = await run('prune', modelJson, '--criterion', 'l2', '--ratio', '0.5', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as { removed: number; params: { before: number; after: number } };
    expect(summary.removed).toBe(3 + 2); // floor(0.5*6) of conv1, floor(0.5*4) of conv2
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const files = ['model.json', ...json.weightsManifest.flatMap((g) => g.paths)].map((p) => ({
      path: p,
      bytes: new Uint8Array(readFileSync(join(out, p))),
    }));
    const a = await openModelFiles(files);
    expect(a.weights.find((w) => w.name === 'conv1/kernel')?.shape).toEqual([3, 3, 1, 3]);
    expect(a.weights.find((w) => w.name === 'out/kernel')?.shape).toEqual([4 * 4 * 2, 3]);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory((await import('../core/io/tf-artifacts')).toTfArtifacts(a)),
    );
    expect(model.countParams()).toBe(summary.params.after);
    model.dispose();
    const rec = a.userDefinedMetadata?.prunelab as { plan: { remove: Record<string, number[]> } };
    expect(rec.plan.remove.conv1).toHaveLength(3);

    const ev = await run('evaluate', join(out, 'model.json'), '--samples', samples, '--json');
    expect(ev.code, ev.err).toBe(0);
    const acc = JSON.parse(ev.out) as { accuracy: number; samples: number };
    expect(acc.samples).toBe(20);
    expect(acc.accuracy).toBeGreaterThanOrEqual(0);
    expect(acc.accuracy).toBeLessThanOrEqual(1);
  });

  it('prune --plan applies a plan file exactly, and rejects one that does not fit', async () => {
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify({ version: 1, remove: { conv2: [0, 3] } }));
    const out = join(dir, 'planned');
    const r = await run('prune', modelJson, '--plan', planPath, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { prunelab: { kept: Record<string, { outputChannels?: number[] }> } };
    };
    expect(saved.userDefinedMetadata.prunelab.kept.conv2?.outputChannels).toEqual([1, 2]);

    writeFileSync(planPath, JSON.stringify({ version: 1, remove: { conv2: [0, 1, 2, 3] } }));
    const bad = await run('prune', modelJson, '--plan', planPath, '--out', out);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('conv2');
  });

  it('evaluate --json reports accuracy 1 when labels are the model’s own predictions', async () => {
    const r = await run('evaluate', modelJson, '--samples', samples, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ accuracy: 1, samples: 20 });
  });

  it('errors go to stderr with a non-zero exit code', async () => {
    const missing = await run('inspect', join(dir, 'nope.json'));
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain('nope.json');
    const noShard = join(dir, 'lonely');
    mkdirSync(noShard);
    writeFileSync(join(noShard, 'model.json'), readFileSync(modelJson));
    const r = await run('inspect', join(noShard, 'model.json'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('group1-shard1of1.bin');
    expect((await run('frobnicate')).code).toBe(2);
    expect((await run('prune', modelJson)).code).toBe(2);
  });
});

describe('prunelab CLI: criteria, global plans to a budget, sensitivity', () => {
  let adir: string;
  let model: string;
  let set: string;
  /** Per output channel of conv1 and conv2: L1 and L2 norms of the kernels, |gamma| of bn1 (plain loops: the oracle). */
  const norms: Record<string, { l1: number[]; l2: number[] }> = {};
  const gamma1 = [0.5, 1.5, 0.2, 0.9, 1.1, 0.05];

  type Summary = {
    removed: number;
    params: { before: number; after: number };
    flops: { before: number; after: number };
    criterion: string;
    mode: string;
    removedShare: { params: number; flops: number; channels: number };
    met: boolean;
  };

  async function prune(name: string, ...flags: string[]) {
    const out = join(adir, name);
    const r = await run('prune', model, '--out', out, '--json', ...flags);
    expect(r.code, r.err).toBe(0);
    const saved = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      userDefinedMetadata: { prunelab: { plan: { remove: Record<string, number[]> } } };
    };
    return {
      summary: JSON.parse(r.out) as Summary,
      remove: saved.userDefinedMetadata.prunelab.plan.remove,
      out,
    };
  }

  function lowest(values: number[], k: number): number[] {
    return values
      .map((v, i) => [v, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .slice(0, k)
      .map(([, i]) => i)
      .sort((a, b) => a - b);
  }

  beforeAll(async () => {
    adir = mkdtempSync(join(tmpdir(), 'prunelab-cli-analysis-'));
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 6, kernelSize: 3, name: 'conv1' }));
    m.add(tf.layers.batchNormalization({ name: 'bn1' }));
    m.add(tf.layers.reLU({ name: 'relu1' }));
    m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2' }));
    m.add(tf.layers.reLU({ name: 'relu2' }));
    m.add(tf.layers.flatten({ name: 'flatten' }));
    m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
    const bn = m.getLayer('bn1');
    const [, beta, mean, variance] = bn.getWeights();
    bn.setWeights([tf.tensor1d(gamma1), beta!, mean!, variance!]);
    for (const name of ['conv1', 'conv2']) {
      const [k] = m.getLayer(name).getWeights();
      const [kh, kw, cin, cout] = k!.shape as [number, number, number, number];
      const data = await k!.data();
      const l1 = new Array<number>(cout).fill(0);
      const l2 = new Array<number>(cout).fill(0);
      for (let i = 0; i < kh * kw * cin; i++) {
        for (let o = 0; o < cout; o++) {
          const w = data[i * cout + o]!;
          l1[o]! += Math.abs(w);
          l2[o]! += w * w;
        }
      }
      norms[name] = { l1, l2: l2.map(Math.sqrt) };
    }
    const files = writeTfjsModel(await artifactsFromLayersModel(m));
    mkdirSync(join(adir, 'model'));
    for (const f of files) writeFileSync(join(adir, 'model', f.path), f.bytes);
    model = join(adir, 'model', 'model.json');
    const n = 24;
    const pixels = new Uint8Array(n * 64).map((_, i) => (i * 53 + 11) % 256);
    const x = tf.tensor4d(
      Float32Array.from(pixels, (p) => p / 255),
      [n, 8, 8, 1],
    );
    const y = m.predict(x) as tf.Tensor;
    const labels = Uint8Array.from(await y.argMax(-1).data());
    tf.dispose([x, y]);
    m.dispose();
    set = join(adir, 'set.plss');
    writeFileSync(
      set,
      encodeSampleSet({ count: n, height: 8, width: 8, channels: 1, numClasses: 3, pixels, labels }),
    );
  });

  afterAll(() => rmSync(adir, { recursive: true, force: true }));

  it('--help documents the new flags and the sensitivity command', async () => {
    const r = await run('--help');
    for (const flag of [
      '--normalize',
      '--global',
      '--target-params',
      '--target-flops',
      '--round-to',
      '--max-ratio',
      'apoz',
      'mean-activation',
      'taylor',
      'bn-scale',
      'fpgm',
      'prunelab sensitivity',
      '--ratios',
      '--groups',
      '--sweep',
    ]) {
      expect(r.out).toContain(flag);
    }
  });

  it('--criterion l1, l2 and bn-scale remove exactly the lowest filters by the plain-loop norms', async () => {
    for (const c of ['l1', 'l2'] as const) {
      const { summary, remove } = await prune(`crit-${c}`, '--criterion', c, '--ratio', '0.5');
      expect(summary.criterion).toBe(c);
      expect(remove.conv1).toEqual(lowest(norms.conv1![c], 3));
      expect(remove.conv2).toEqual(lowest(norms.conv2![c], 2));
    }
    const { remove } = await prune('crit-bn', '--criterion', 'bn-scale', '--ratio', '0.5');
    expect(remove.conv1).toEqual(lowest(gamma1.map(Math.abs), 3)); // [0.05, 0.2, 0.5] -> channels 5, 2, 0
    expect(remove.conv1).toEqual([0, 2, 5]);
  });

  it('every criterion runs; the data-based ones need --samples (exit 2 without), random is seeded', async () => {
    for (const c of ['fpgm', 'random', 'apoz', 'mean-activation', 'taylor']) {
      const { summary } = await prune(`crit-${c}`, '--criterion', c, '--ratio', '0.5', '--samples', set);
      expect(summary.criterion).toBe(c);
      expect(summary.removed).toBe(3 + 2);
    }
    const a = await prune('random-a', '--criterion', 'random');
    const b = await prune('random-b', '--criterion', 'random');
    expect(a.remove).toEqual(b.remove);
    for (const c of ['apoz', 'mean-activation', 'taylor']) {
      const r = await run('prune', model, '--out', join(adir, 'x'), '--criterion', c);
      expect(r.code).toBe(2);
      expect(r.err).toContain('--samples');
    }
  });

  it('--global ranks channels across layers: none uses raw scores, mean divides by each layer mean', async () => {
    const all = (f: (name: string, s: number[]) => number[]) => [
      ...f('conv1', norms.conv1!.l1).map((v, i) => ({ layer: 'conv1', i, v })),
      ...f('conv2', norms.conv2!.l1).map((v, i) => ({ layer: 'conv2', i, v })),
    ];
    const expectLowest = (
      items: { layer: string; i: number; v: number }[],
      remove: Record<string, number[]>,
    ) => {
      const picked = [...items].sort((a, b) => a.v - b.v).slice(0, 5);
      for (const layer of ['conv1', 'conv2']) {
        expect(remove[layer] ?? []).toEqual(
          picked
            .filter((p) => p.layer === layer)
            .map((p) => p.i)
            .sort((x, y) => x - y),
        );
      }
    };
    const none = await prune('g-none', '--global', '--ratio', '0.5', '--normalize', 'none');
    expect(none.summary.mode).toBe('global');
    expect(none.summary.removed).toBe(5); // half of the 10 prunable channels
    expectLowest(
      all((_, s) => s),
      none.remove,
    );
    const mean = await prune('g-mean', '--global', '--ratio', '0.5', '--normalize', 'mean');
    expect(mean.summary.removed).toBe(5);
    expectLowest(
      all((_, s) => s.map((v) => v / (s.reduce((a, b) => a + b, 0) / s.length))),
      mean.remove,
    );
    const lamp = await prune('g-lamp', '--global', '--ratio', '0.5', '--normalize', 'lamp');
    expect(lamp.summary.removed).toBe(5);
    expect(lamp.summary.met).toBe(true);
  });

  it('--target-flops 0.5 removes at least half the FLOPs; the written model has the stated params and FLOPs', async () => {
    const { summary, out } = await prune('t-flops', '--target-flops', '0.5');
    expect(summary.met).toBe(true);
    expect(summary.removedShare.flops).toBeGreaterThanOrEqual(0.5);
    expect(summary.flops.after).toBeLessThanOrEqual(summary.flops.before / 2);
    const inspected = await run('inspect', join(out, 'model.json'), '--json');
    const totals = (JSON.parse(inspected.out) as { totals: { params: number; flops: number } }).totals;
    expect(totals).toMatchObject({ params: summary.params.after, flops: summary.flops.after });
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    const files = ['model.json', ...json.weightsManifest.flatMap((g) => g.paths)].map((p) => ({
      path: p,
      bytes: new Uint8Array(readFileSync(join(out, p))),
    }));
    const { toTfArtifacts } = await import('../core/io/tf-artifacts');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(toTfArtifacts(await openModelFiles(files))));
    expect(loaded.countParams()).toBe(summary.params.after);
    loaded.dispose();
  });

  it('--target-params 0.3 removes at least 30% of the parameters, overshooting by less than one channel', async () => {
    const { summary } = await prune('t-params', '--target-params', '0.3', '--normalize', 'lamp');
    expect(summary.removedShare.params).toBeGreaterThanOrEqual(0.3);
    expect(summary.params.after).toBeLessThanOrEqual(0.7 * summary.params.before);
    // The same target at 0.29 must not remove more than 0.3 does.
    const lower = await prune('t-params-lower', '--target-params', '0.29', '--normalize', 'lamp');
    expect(lower.summary.params.after).toBeGreaterThanOrEqual(summary.params.after);
  });

  it('--round-to, --max-ratio and --ignore limit every layer', async () => {
    // 0.5 of conv1 (6) is 3, kept 3 -> rounded up to 4: removes 2; conv2 (4) keeps 2 -> 4: removes 0.
    const rounded = await prune('r-round', '--ratio', '0.5', '--round-to', '4');
    expect(rounded.remove.conv1).toHaveLength(2);
    expect(rounded.remove.conv2).toBeUndefined();
    expect(rounded.summary.removed).toBe(2);
    const capped = await prune('r-cap', '--ratio', '0.5', '--max-ratio', '0.25');
    expect(capped.remove.conv1).toHaveLength(1); // floor(0.25 * 6)
    expect(capped.remove.conv2).toHaveLength(1); // floor(0.25 * 4)
    const ignored = await prune('r-ignore', '--ratio', '0.5', '--ignore', 'conv1');
    expect(ignored.remove.conv1).toBeUndefined();
    expect(ignored.remove.conv2).toHaveLength(2);
    // Globally, a cap that cannot reach the target says so.
    const short = await prune('r-short', '--target-flops', '0.9', '--max-ratio', '0.25');
    expect(short.summary.met).toBe(false);
    expect(short.summary.removedShare.flops).toBeLessThan(0.9);
  });

  it('bad values of the new flags exit 2 and name the flag', async () => {
    const planPath = join(adir, 'plan.json');
    writeFileSync(planPath, JSON.stringify({ version: 1, remove: { conv2: [0] } }));
    const cases: [string[], string][] = [
      [['--normalize', 'median'], '--normalize'],
      [['--target-flops', '1.5'], '--target-flops'],
      [['--target-flops', '0'], '--target-flops'],
      [['--target-params', 'half'], '--target-params'],
      [['--target-params', '0.3', '--target-flops', '0.3'], '--target-flops'],
      [['--target-flops', '0.5', '--ratio', '0.3'], '--ratio'],
      [['--round-to', '0'], '--round-to'],
      [['--round-to', '2.5'], '--round-to'],
      [['--align', '0'], '--align'],
      [['--max-ratio', '0'], '--max-ratio'],
      [['--max-ratio', '1.5'], '--max-ratio'],
      [['--criterion', 'l3'], '--criterion'],
      [['--plan', planPath, '--global'], '--global'],
      [['--plan', planPath, '--target-flops', '0.5'], '--target-flops'],
      [['--ignore', ','], '--ignore'],
      [['--frobnicate'], 'frobnicate'],
    ];
    for (const [flags, name] of cases) {
      const r = await run('prune', model, '--out', join(adir, 'bad'), ...flags);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err, flags.join(' ')).toContain(name);
    }
    // --criterion next to --plan was accepted (and ignored) before these flags existed: still is.
    const old = await run(
      'prune',
      model,
      '--out',
      join(adir, 'old'),
      '--plan',
      planPath,
      '--criterion',
      'l1',
    );
    expect(old.code, old.err).toBe(0);
  });

  it('sensitivity writes CSV and JSON curves whose numbers an independent prune + evaluate reproduce', async () => {
    const prefix = join(adir, 'sens', 'curves');
    const r = await run(
      'sensitivity',
      model,
      '--samples',
      set,
      '--groups',
      '1',
      '--ratios',
      '0.25,0.5',
      '--sweep',
      '--out',
      prefix,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(readFileSync(`${prefix}.json`, 'utf8')) as {
      ratios: number[];
      baseline: { accuracy: number };
      curves: {
        producer: string;
        points: { ratio: number; removed: number; accuracy: number; params: number }[];
      }[];
    };
    expect(result.ratios).toEqual([0.25, 0.5]);
    expect(result.baseline.accuracy).toBe(1); // the labels are the model's own predictions
    // The group with most parameters at stake: conv2 (3 of 4 filters: 3*3*6*3 + 3, and out's 16*3 rows
    // of 3 behind the Flatten = 309) against conv1 (5 of 6: 45 + 5 + bn1 4*5 + conv2's 3*3*5*4 = 250).
    expect(result.curves.map((c) => c.producer)).toEqual(['conv2']);
    const csv = readFileSync(`${prefix}.csv`, 'utf8').trim().split('\n');
    expect(csv).toHaveLength(2 + 2); // header, the original, two ratios
    expect(csv[0]).toBe('producer,size,params_at_stake,ratio,removed,params,flops,accuracy,agreement');
    const half = result.curves[0]!.points.find((p) => p.ratio === 0.5)!;
    expect(half.removed).toBe(2);
    expect(csv[3]!.split(',')[7]).toBe(String(half.accuracy));
    // Oracle: prune the same 2 lowest-L1 filters of conv2 with a plan file and evaluate it.
    const planPath = join(adir, 'sens-plan.json');
    writeFileSync(planPath, JSON.stringify({ version: 1, remove: { conv2: lowest(norms.conv2!.l1, 2) } }));
    const pruned = join(adir, 'sens-pruned');
    const p = await run('prune', model, '--plan', planPath, '--out', pruned, '--json');
    expect((JSON.parse(p.out) as Summary).params.after).toBe(half.params);
    const ev = await run('evaluate', join(pruned, 'model.json'), '--samples', set, '--json');
    expect((JSON.parse(ev.out) as { accuracy: number }).accuracy).toBe(half.accuracy);
    const sweep = JSON.parse(readFileSync(`${prefix}-sweep.json`, 'utf8')) as {
      series: { criterion: string; points: { target: number; remainingFlops: number }[] }[];
    };
    expect(sweep.series.map((s) => s.criterion)).toEqual(['l1', 'random']);
    for (const s of sweep.series)
      for (const q of s.points) expect(q.remainingFlops).toBeLessThanOrEqual(1 - q.target + 1e-9);
    expect(readFileSync(`${prefix}-sweep.csv`, 'utf8').split('\n')[0]).toContain('remaining_flops');
  });

  it('sensitivity usage errors exit 2', async () => {
    const base = ['sensitivity', model];
    expect((await run(...base, '--out', join(adir, 's'))).code).toBe(2); // no --samples
    expect((await run(...base, '--samples', set)).code).toBe(2); // no --out
    for (const bad of [
      ['--ratios', '0.5,1.5'],
      ['--ratios', ''],
      ['--groups', '0'],
      ['--criterion', 'nope'],
    ]) {
      const r = await run(...base, '--samples', set, '--out', join(adir, 's'), ...bad);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.err).toContain(bad[0]!.replace('--', ''));
    }
  });
});
