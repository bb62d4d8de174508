import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isModelLoadError, ModelLoadError } from '../io/errors';
import type { ChannelGraph } from '../graph/types';
import { planKey } from './key';
import { jsonErrorOffset, parsePlanFile, PLAN_FILE_LIMITS } from './plan-file';
import type { PruningPlan } from './plan';

/** conv_a and conv_b add into one residual stream (one group of 8, two names); conv1 alone; logits is the output. */
const graph: ChannelGraph = {
  groups: [
    { id: 0, producer: 'conv1', producers: ['conv1'], size: 4, members: [], prunable: true },
    { id: 1, producer: 'conv_a', producers: ['conv_a', 'conv_b'], size: 8, members: [], prunable: true },
    {
      id: 2,
      producer: 'logits',
      producers: ['logits'],
      size: 10,
      members: [],
      prunable: false,
      reason: "Dense 'logits' produces the model's output (10 values), so none can be removed.",
    },
  ],
  groupByProducer: { conv1: 0, conv_a: 1, conv_b: 1, logits: 2 },
  groupsByLayer: {},
  layerClasses: {
    conv1: 'Conv2D',
    bn1: 'BatchNormalization',
    conv_a: 'Conv2D',
    conv_b: 'Conv2D',
    logits: 'Dense',
  },
};
const ctx = { graph, fingerprint: '00112233aabbccdd', modelName: 'resnet-ish' };

/** The BAD_PLAN error a call throws (fails the test when it throws anything else or nothing). */
function badPlan(text: string, withCtx = true, file = 'plan.json'): ModelLoadError {
  try {
    parsePlanFile(text, file, withCtx ? ctx : undefined);
  } catch (e) {
    expect(isModelLoadError(e), String(e)).toBe(true);
    const err = e as ModelLoadError;
    expect(err.code).toBe('BAD_PLAN');
    expect(err.file).toBe(file);
    expect(err.message).toContain(`'${file}'`);
    return err;
  }
  throw new Error(`parsePlanFile accepted ${text.slice(0, 100)}`);
}

describe('parsePlanFile', () => {
  it('returns the canonical plan: aliases renamed to the group producer, sorted, empty lists dropped', () => {
    const plan = parsePlanFile(
      JSON.stringify({ version: 1, remove: { conv_b: [5, 1], conv1: [], logits: [] }, note: 'hand' }),
      'p.json',
      ctx,
    );
    expect(plan).toEqual({ version: 1, remove: { conv_a: [1, 5] }, note: 'hand' });
    // The model's fingerprint is kept with the plan when it matches.
    const saved = parsePlanFile(
      JSON.stringify({
        version: 1,
        remove: { conv1: [2] },
        model: { fingerprint: ctx.fingerprint, name: 'm' },
      }),
      'p.json',
      ctx,
    );
    expect(saved.model).toEqual({ fingerprint: ctx.fingerprint, name: 'm' });
    // A byte order mark (Windows editors) is no error.
    expect(parsePlanFile('\ufeff{"version":1,"remove":{}}', 'p.json', ctx)).toEqual({
      version: 1,
      remove: {},
    });
    // Without a model only the shape is checked; aliases stay as written.
    expect(parsePlanFile('{"version":1,"remove":{"b":[3,1],"a":[2]}}', 'p.json')).toEqual({
      version: 1,
      remove: { a: [2], b: [1, 3] },
    });
  });

  it('names the file and the line and column of a JSON syntax error', () => {
    const err = badPlan('{\n  "version": 1,\n  "remove": {"conv1": [1,]}\n}');
    expect(err.message).toMatch(/not valid JSON/);
    expect(err.message).toContain('line 3, column 26');
    expect(badPlan('').message).toContain('line 1, column 1');
    expect(badPlan('{"version": 1').message).toContain('column 14');
  });

  it('refuses null, lists, strings, numbers and objects that are not plans, in words, without TypeErrors', () => {
    expect(badPlan('null').message).toContain('holds null, not a plan object');
    expect(badPlan('[]').message).toContain('holds a list of 0 items');
    expect(badPlan('"x"').message).toContain('the string "x"');
    expect(badPlan('42').message).toContain('holds 42');
    expect(badPlan('{}').message).toContain('no "version"');
    expect(badPlan('{"version": 2, "remove": {}}').message).toContain(
      'version 2; this PruneLab reads version 1',
    );
    expect(badPlan('{"version": "1", "remove": {}}').message).toContain('version the string "1"');
    expect(badPlan('{"version": 1}').message).toContain('no "remove"');
    expect(badPlan('{"version": 1, "remove": [1, 2]}').message).toContain('"remove" a list of 2 items');
    expect(badPlan('{"version": 1, "remove": {"conv1": 3}}').message).toContain(
      "channels of 'conv1' are 3, not a list",
    );
    expect(badPlan('{"version": 1, "remove": {"conv1": [1.5, "2", null, -1]}}').message).toContain(
      'whole numbers >= 0, but include 1.5, the string "2", null, -1',
    );
    expect(badPlan('{"version": 1, "remove": {"__proto__": [1]}}', false).message).toContain('__proto__');
    expect(badPlan('{"version": 1, "remove": {}, "note": 5}').message).toContain('"note" 5');
    expect(badPlan('{"version": 1, "remove": {}, "model": "x"}').message).toContain('"model" the string "x"');
  });

  it('with the model: refuses another model’s plan, unknown layers, out-of-range and whole-layer removals', () => {
    const other = badPlan(
      JSON.stringify({
        version: 1,
        remove: { conv1: [0] },
        model: { fingerprint: 'ffffffffffffffff', name: 'other' },
      }),
    );
    expect(other.message).toContain('ffffffffffffffff');
    expect(other.message).toContain(ctx.fingerprint);
    expect(badPlan('{"version":1,"remove":{"nope":[0]}}').message).toContain(
      "'nope', which is not in the model",
    );
    expect(badPlan('{"version":1,"remove":{"constructor":[0]}}').message).toContain(
      "'constructor', which is not in the model",
    );
    expect(badPlan('{"version":1,"remove":{"bn1":[0]}}').message).toContain('BatchNormalization');
    expect(badPlan('{"version":1,"remove":{"conv1":[4]}}').message).toContain('4 channels (0..3)');
    expect(badPlan('{"version":1,"remove":{"conv1":[0,1,2,3]}}').message).toContain('keep at least one');
    expect(badPlan('{"version":1,"remove":{"logits":[0]}}').message).toContain("model's output");
    expect(badPlan('{"version":1,"remove":{"conv_a":[1],"conv_b":[2]}}').message).toContain(
      "name the group once, by 'conv_a'",
    );
  });

  it('keeps messages short: a 1,000,000-index plan and 10,000 unknown layers are counted, not echoed', () => {
    const huge = JSON.stringify({
      version: 1,
      remove: { conv1: Array.from({ length: 1_000_000 }, (_, i) => i) },
    });
    const err = badPlan(huge);
    expect(err.message.length).toBeLessThan(500);
    expect(err.message).toContain('4, 5, 6, 7, 8 … and 999,991 more');
    const many: Record<string, number[]> = {};
    for (let i = 0; i < 10_000; i++) many[`layer_${i}`] = [i];
    const m = badPlan(JSON.stringify({ version: 1, remove: many }));
    expect(m.message.length).toBeLessThan(1500);
    expect(m.message).toContain(
      `and ${(10_000 - PLAN_FILE_LIMITS.maxProblems).toLocaleString('en-US')} more problems`,
    );
    const longName = 'x'.repeat(100_000);
    expect(badPlan(JSON.stringify({ version: 1, remove: { [longName]: [0] } })).message.length).toBeLessThan(
      500,
    );
    const bigNote = badPlan(
      JSON.stringify({ version: 1, remove: {}, model: { fingerprint: 'f'.repeat(1e6) } }),
    );
    expect(bigNote.message.length).toBeLessThan(800);
    const tooBig = badPlan(' '.repeat(PLAN_FILE_LIMITS.maxBytes + 1));
    expect(tooBig.message).toContain('over the limit');
  });

  it('jsonErrorOffset agrees with JSON.parse on what is valid, and survives deep nesting', () => {
    for (const t of [
      '{}',
      '[]',
      '1',
      '"a\\u00e9"',
      ' {"a": [1, -2.5e3, true, false, null, {"b": []}]} ',
      '[[[]]]',
    ]) {
      expect(jsonErrorOffset(t), t).toBeNull();
    }
    for (const t of ['{', '[1,]', '{"a":1,}', '01', 'tru', '"\\x"', '[1 2]', '{"a" 1}', '{} x', '']) {
      expect(jsonErrorOffset(t), t).not.toBeNull();
    }
    expect(jsonErrorOffset('['.repeat(1_000_000))).toBe(1_000_000);
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        let valid = true;
        try {
          JSON.parse(s);
        } catch {
          valid = false;
        }
        expect(jsonErrorOffset(s) === null).toBe(valid);
      }),
      { numRuns: 500, seed: 11 },
    );
  });
});

/** A random valid plan on `graph`: lists of at most size-1 channels, some groups named by their alias. */
const validPlan = fc
  .record({
    conv1: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    stage: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 7 }),
    alias: fc.constantFrom('conv_a', 'conv_b'),
    note: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
  })
  .map(({ conv1, stage, alias, note }) => {
    const plan: PruningPlan = { version: 1, remove: { conv1, [alias]: stage } };
    if (note !== undefined) plan.note = note;
    return plan;
  });

/** The same plan written differently: keys and indices shuffled, whitespace. */
function rewrite(plan: PruningPlan, seed: number): string {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const shuffle = <T>(xs: T[]) =>
    xs
      .map((x) => [rand(), x] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, x]) => x);
  const remove: Record<string, number[]> = {};
  for (const layer of shuffle(Object.keys(plan.remove))) {
    const list = plan.remove[layer]!;
    remove[layer] = shuffle([...list]);
  }
  const fields: [string, unknown][] = shuffle([
    ['version', 1],
    ['remove', remove],
    ...(plan.note !== undefined ? [['note', plan.note] as [string, unknown]] : []),
  ]);
  return JSON.stringify(Object.fromEntries(fields), null, rand() < 0.5 ? 2 : undefined);
}

describe('parsePlanFile properties', () => {
  it('any valid plan survives a JSON round trip with shuffled keys and indices: same planKey, canonical producer', () => {
    fc.assert(
      fc.property(validPlan, fc.integer({ min: 1, max: 1e6 }), (plan, seed) => {
        const parsed = parsePlanFile(rewrite(plan, seed), 'p.json', ctx);
        const expected: PruningPlan = {
          version: 1,
          remove: { conv1: plan.remove.conv1!, conv_a: Object.values(plan.remove)[1]! },
        };
        expect(planKey(parsed)).toBe(planKey(expected));
        expect(Object.keys(parsed.remove).every((k) => k === 'conv1' || k === 'conv_a')).toBe(true);
        // Parsing the canonical plan again is the identity.
        expect(parsePlanFile(JSON.stringify(parsed), 'p.json', ctx)).toEqual(parsed);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('any mangled plan file gives a plan or BAD_PLAN naming the file, never another error, in a short message', () => {
    const mangle = fc.oneof(
      // Arbitrary JSON values where a plan, its version, its remove or a list should be.
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.jsonValue().map((v) => JSON.stringify({ version: 1, remove: v })),
      fc.jsonValue().map((v) => JSON.stringify({ version: v, remove: {} })),
      fc.jsonValue().map((v) => JSON.stringify({ version: 1, remove: { conv1: v } })),
      fc.jsonValue().map((v) => JSON.stringify({ version: 1, remove: { conv1: [v] } })),
      fc.jsonValue().map((v) => JSON.stringify({ version: 1, remove: {}, model: v })),
      // Truncated or spliced text of a valid plan.
      fc.tuple(validPlan, fc.nat(), fc.nat(), fc.string({ maxLength: 4 })).map(([p, a, b, ins]) => {
        const t = JSON.stringify(p);
        const i = a % (t.length + 1);
        const j = Math.min(t.length, i + (b % 4));
        return t.slice(0, i) + ins + t.slice(j);
      }),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(mangle, fc.boolean(), (text, withCtx) => {
        try {
          const plan = parsePlanFile(text, 'mangled.json', withCtx ? ctx : undefined);
          expect(plan.version).toBe(1);
          for (const list of Object.values(plan.remove))
            expect(list.every((i) => Number.isSafeInteger(i) && i >= 0)).toBe(true);
        } catch (e) {
          expect(isModelLoadError(e), String(e)).toBe(true);
          expect((e as ModelLoadError).code).toBe('BAD_PLAN');
          expect((e as ModelLoadError).message).toContain("'mangled.json'");
          expect((e as ModelLoadError).message.length).toBeLessThan(2000);
        }
      }),
      { numRuns: 2000, seed: 42 },
    );
  });
});
