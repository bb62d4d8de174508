// eslint-disable-next-line no-restricted-imports -- vitest runs in Node: package.json is read from disk
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelArtifactsData } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import { buildChannelGraph } from '../graph/build-graph';
import { computeCosts, makeCostModel } from '../metrics/costs';
import { emptyPlan, type PruningPlan } from '../plan/plan';
import { loadLayersModelFromArtifacts } from '../io/tf-artifacts';
import {
  cnnSpecArb,
  mulberry32,
  randomCnnArtifacts,
  snapshotArtifacts,
  type ConsumerLink,
} from '../testing/random-cnn';
import { applyPlan, PRUNELAB_VERSION, readProvenance, sliceWeight, stampWriter } from './apply-plan';

/** `PRUNELAB_RUNS=500 npx vitest run src/core/surgery` soaks the properties longer. */
const RUNS = Number(process.env['PRUNELAB_RUNS'] ?? 0);
const runs = (n: number) => (RUNS > 0 ? RUNS : n);

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** A random plan over the producers the test built (never all channels of a layer). */
function randomPlan(links: readonly { producer: string; size: number }[], seed: number): PruningPlan {
  const rand = mulberry32(seed);
  const remove: Record<string, number[]> = {};
  for (const l of links) {
    if (rand() < 0.25) continue;
    const p = 0.2 + 0.5 * rand();
    const list = Array.from({ length: l.size }, (_, i) => i).filter(() => rand() < p);
    if (list.length === l.size) list.splice(Math.floor(rand() * list.length), 1);
    if (list.length > 0) remove[l.producer] = list;
  }
  return { version: 1, remove };
}

/** Indices a link's consumer reads for producer channels `channels` (the oracle's own arithmetic). */
function consumerIndices(link: ConsumerLink, channels: readonly number[]): number[] {
  const out: number[] = [];
  const m = link.multiplier;
  for (let k = 0; k < link.spatial; k++) {
    for (const c of channels) for (let j = 0; j < m; j++) out.push(c * m + j + link.size * m * k);
  }
  return out.sort((a, b) => a - b);
}

/** The oracle: the original model with the removed channels' consumer weights zeroed (tfjs layouts). */
function zeroConsumers(a: ModelArtifactsData, links: ConsumerLink[], plan: PruningPlan): ModelArtifactsData {
  const weights = a.weights.map((w) => ({ ...w, values: Float32Array.from(w.values) }));
  for (const link of links) {
    const removed = plan.remove[link.producer];
    if (!removed) continue;
    const w = weights.find((x) => x.name === `${link.consumer}/${link.weight}`);
    if (!w) throw new Error(`no weight ${link.consumer}/${link.weight}`);
    const zero = new Set(consumerIndices(link, removed));
    const size = w.shape[link.axis]!;
    const inner = w.shape.slice(link.axis + 1).reduce((p, d) => p * d, 1);
    for (let i = 0; i < w.values.length; i++) if (zero.has(Math.floor(i / inner) % size)) w.values[i] = 0;
  }
  return { ...a, weights };
}

async function predict(a: ModelArtifactsData, x: tf.Tensor): Promise<{ y: Float32Array; params: number }> {
  const model = await loadLayersModelFromArtifacts(a);
  try {
    const y = model.predict(x) as tf.Tensor;
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return { y: data, params: model.countParams() };
  } finally {
    model.dispose();
  }
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= 1e-4 * scale)) {
      throw new Error(`output ${i}: pruned ${actual[i]} vs oracle ${expected[i]} (scale ${scale})`);
    }
  }
}

function complement(size: number, removed: readonly number[] = []): number[] {
  return Array.from({ length: size }, (_, i) => i).filter((i) => !removed.includes(i));
}

describe('applyPlan on random CNNs (property)', () => {
  it('matches the zeroed-consumer oracle, the cost model, and records provenance', async () => {
    await fc.assert(
      fc.asyncProperty(cnnSpecArb(), fc.integer({ min: 1, max: 2 ** 30 }), async (spec, planSeed) => {
        const { artifacts, built } = await randomCnnArtifacts(spec);
        const ir = buildModelIR(artifacts);
        const graph = buildChannelGraph(ir);
        // The graph agrees with what the builder knows: every built producer but the logits is prunable.
        expect(graph.groups.filter((g) => g.prunable).map((g) => g.producer)).toEqual(
          built.links.map((l) => l.producer),
        );
        expect(graph.groups[graph.groupByProducer['logits']!]!.prunable).toBe(false);

        const plan = randomPlan(built.links, planSeed);
        const before = snapshotArtifacts(artifacts);
        const tensorsBefore = tf.memory().numTensors;

        const { artifacts: pruned } = applyPlan(artifacts, plan, ir, graph);

        // (d) the input is untouched.
        expect(artifacts).toEqual(before);

        // (a) oracle and (b) params, on the same random batch.
        const x = tf.randomUniform([2, ...built.inputShape], -1, 1, 'float32', spec.seed);
        const got = await predict(pruned, x);
        const want = await predict(zeroConsumers(artifacts, built.links, plan), x);
        x.dispose();
        expectClose(got.y, want.y);

        const predicted = makeCostModel(ir, graph).evaluate(plan);
        expect(got.params).toBe(predicted.params);
        // The fast path equals a from-scratch count on the pruned model, layer by layer.
        expect(predicted).toEqual(computeCosts(buildModelIR(pruned)));

        // (e) no tensor leaks in our tf-using helpers.
        expect(tf.memory().numTensors).toBe(tensorsBefore);

        // (f) provenance, in original indexing.
        const record = readProvenance(pruned);
        if (Object.keys(plan.remove).length === 0) {
          // A no-op still says what was done to it (issue 11): nothing.
          expect(record).toEqual({
            version: 1,
            tool: 'PruneLab',
            plan: { version: 1, remove: {} },
            kept: {},
          });
          return;
        }
        expect(record?.plan.remove).toEqual(plan.remove);
        expect(record?.tool).toBe('PruneLab');
        for (const link of built.links) {
          const removed = plan.remove[link.producer];
          if (!removed) continue;
          const keep = complement(link.size, removed);
          expect(record!.kept[link.producer]!.outputChannels).toEqual(keep);
          expect(record!.kept[link.consumer]!.inputChannels).toEqual(consumerIndices(link, keep));
          for (const b of link.between) {
            if (b.startsWith('bn')) {
              expect(record!.kept[b]).toEqual({ inputChannels: keep, outputChannels: keep });
            }
          }
        }
        // Names, classes and order are unchanged.
        const after = buildModelIR(pruned);
        expect(after.layers.map((l) => [l.name, l.className])).toEqual(
          ir.layers.map((l) => [l.name, l.className]),
        );
      }),
      { numRuns: runs(40) },
    );
  });

  it('an empty plan is the identity, with a provenance record saying so', async () => {
    await fc.assert(
      fc.asyncProperty(cnnSpecArb(), async (spec) => {
        const { artifacts } = await randomCnnArtifacts(spec);
        const { artifacts: out, kept } = applyPlan(artifacts, emptyPlan());
        expect(kept).toEqual({});
        expect(out.modelTopology).toEqual(artifacts.modelTopology);
        expect(out.modelTopology).not.toBe(artifacts.modelTopology);
        expect(out.userDefinedMetadata).toEqual({
          ...artifacts.userDefinedMetadata,
          prunelab: { version: 1, tool: 'PruneLab', plan: { version: 1, remove: {} }, kept: {} },
        });
        expect(
          out.weights.map((w) => [w.name, w.shape, Buffer.from(w.values.buffer).toString('hex')]),
        ).toEqual(
          artifacts.weights.map((w) => [w.name, w.shape, Buffer.from(w.values.buffer).toString('hex')]),
        );
      }),
      { numRuns: runs(10) },
    );
  });

  it('pruning twice composes: same weights as the composed plan on the original, kept in original indexing', async () => {
    await fc.assert(
      fc.asyncProperty(
        cnnSpecArb(),
        fc.integer({ min: 1, max: 2 ** 30 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (spec, seed1, seed2) => {
          const { artifacts, built } = await randomCnnArtifacts(spec);
          const plan1 = randomPlan(built.links, seed1);
          const once = applyPlan(artifacts, plan1).artifacts;
          const onceGraph = buildChannelGraph(buildModelIR(once));
          const sizes = onceGraph.groups
            .filter((g) => g.prunable)
            .map((g) => ({ producer: g.producer, size: g.size }));
          const plan2 = randomPlan(sizes, seed2);
          const twice = applyPlan(once, plan2).artifacts;
          const record = readProvenance(twice);
          if (!record) {
            expect(Object.keys(plan1.remove).length + Object.keys(plan2.remove).length).toBe(0);
            return;
          }
          const direct = applyPlan(artifacts, record.plan).artifacts;
          expect(twice.modelTopology).toEqual(direct.modelTopology);
          expect(twice.weights).toEqual(direct.weights);
          expect(record.kept).toEqual(readProvenance(direct)!.kept);
          // The record's kept output channels are consistent with its plan.
          for (const link of built.links) {
            const removed = record.plan.remove[link.producer];
            if (removed)
              expect(record.kept[link.producer]!.outputChannels).toEqual(complement(link.size, removed));
          }
        },
      ),
      { numRuns: runs(15) },
    );
  });
});

describe('applyPlan details', () => {
  it('keeps other userDefinedMetadata keys and refuses an invalid plan, listing the problems', async () => {
    const spec = fc.sample(cnnSpecArb(), { seed: 7, numRuns: 1 })[0]!;
    const { artifacts, built } = await randomCnnArtifacts({ ...spec, hidden: [] });
    const withMeta: ModelArtifactsData = { ...artifacts, userDefinedMetadata: { classes: ['a', 'b'] } };
    const producer = built.links[0]!.producer;
    const { artifacts: out } = applyPlan(withMeta, { version: 1, remove: { [producer]: [0] } });
    expect(out.userDefinedMetadata?.['classes']).toEqual(['a', 'b']);
    expect(out.userDefinedMetadata?.['prunelab']).toMatchObject({ version: 1, tool: 'PruneLab' });
    expect(() => applyPlan(withMeta, { version: 1, remove: { logits: [0], nope: [1] } })).toThrow(
      /cannot be applied:\n- 'logits' cannot be pruned: .*\n- The plan names layer 'nope', which is not in the model\./,
    );
  });

  it('sliceWeight gathers on several axes at once', () => {
    const w = {
      name: 'k',
      shape: [2, 3],
      dtype: 'float32' as const,
      values: Float32Array.of(0, 1, 2, 3, 4, 5),
    };
    expect(sliceWeight(w, [[1], null])).toMatchObject({ shape: [1, 3], values: Float32Array.of(3, 4, 5) });
    expect(sliceWeight(w, [null, [0, 2]])).toMatchObject({
      shape: [2, 2],
      values: Float32Array.of(0, 2, 3, 5),
    });
    expect(sliceWeight(w, [[0], [2]])).toMatchObject({ shape: [1, 1], values: Float32Array.of(2) });
    expect(w.values).toEqual(Float32Array.of(0, 1, 2, 3, 4, 5));
  });

  it('sliceWeight equals a per-entry gather on random shapes and picks, bit for bit', () => {
    // The oracle: every output entry, by its multi-index, reads the input at the picked indices.
    const reference = (shape: number[], values: Float32Array, picks: (number[] | null)[]) => {
      const lists = shape.map((d, a) => picks[a] ?? Array.from({ length: d }, (_, i) => i));
      const outShape = lists.map((l) => l.length);
      const total = outShape.reduce((p, d) => p * d, 1);
      const out = new Float32Array(total);
      for (let o = 0; o < total; o++) {
        let rest = o;
        let at = 0;
        let stride = 1;
        for (let a = shape.length - 1; a >= 0; a--) {
          at += lists[a]![rest % outShape[a]!]! * stride;
          rest = Math.floor(rest / outShape[a]!);
          stride *= shape[a]!;
        }
        out[o] = values[at]!;
      }
      return { shape: outShape, values: out };
    };
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 4 })
          .filter((shape) => shape.reduce((p, d) => p * d, 1) <= 5000)
          .chain((shape) =>
            fc.tuple(
              fc.constant(shape),
              fc.tuple(
                ...shape.map((d) =>
                  fc.option(fc.subarray(Array.from({ length: d }, (_, i) => i)), { nil: null }),
                ),
              ),
            ),
          ),
        ([shape, picks]) => {
          const n = shape.reduce((p, d) => p * d, 1);
          // Distinct bit patterns, negative zero and a NaN among them.
          const values = Float32Array.from({ length: n }, (_, i) =>
            i === 3 ? -0 : i === 5 ? NaN : i - n / 2,
          );
          const w = { name: 'k', shape, dtype: 'float32' as const, values };
          const got = sliceWeight(w, picks);
          const want = reference(shape, values, picks);
          expect(got.shape).toEqual(want.shape);
          expect(new Uint8Array(got.values.buffer)).toEqual(new Uint8Array(want.values.buffer));
          const ints = sliceWeight(
            { ...w, dtype: 'int32', values: Int32Array.from(values, (x) => x | 0) },
            picks,
          );
          expect(ints.values).toEqual(Int32Array.from(want.values, (x) => x | 0));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('provenance writer stamp (issue 11)', () => {
  it('PRUNELAB_VERSION is package.json version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(PRUNELAB_VERSION).toBe(pkg.version);
  });

  it('stampWriter adds writer beside the record, leaves models without one and the input alone', () => {
    const topology = { class_name: 'Sequential', config: { name: 's', layers: [] } } as never;
    const bare: ModelArtifactsData = { modelTopology: topology, weights: [] };
    expect(stampWriter(bare, { format: 'keras-v3', formatVersion: '3' })).toBe(bare);
    const record = { version: 1, tool: 'PruneLab', plan: { version: 1, remove: { c: [1] } }, kept: {} };
    const a: ModelArtifactsData = { ...bare, userDefinedMetadata: { prunelab: record, labels: ['x'] } };
    const out = stampWriter(a, { format: 'keras-h5', formatVersion: '2.4.0', notes: [] });
    expect(out.userDefinedMetadata).toEqual({
      labels: ['x'],
      prunelab: {
        ...record,
        writer: { name: 'PruneLab', version: PRUNELAB_VERSION, format: 'keras-h5', formatVersion: '2.4.0' },
      },
    });
    expect(a.userDefinedMetadata?.['prunelab']).toBe(record);
    expect(readProvenance(out)?.writer?.format).toBe('keras-h5');
  });
});
