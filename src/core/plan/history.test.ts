import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  asPlanHistory,
  canRedo,
  canUndo,
  commitStep,
  currentStep,
  jumpToStep,
  MAX_HISTORY_STEPS,
  redoStep,
  startHistory,
  undoStep,
} from './history';
import { planKey } from './key';
import type { PruningPlan } from './plan';

const plan = (remove: Record<string, number[]>): PruningPlan => ({ version: 1, remove });

describe('planKey', () => {
  it('is invariant to producer and index order, duplicates and empty lists', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('a', 'b', 'conv:1', 'c|d', 'e,f'),
          fc.array(fc.nat(20), { maxLength: 6 }),
        ),
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        (remove, rnd) => {
          const it = rnd[Symbol.iterator]();
          const shuffle = <T>(xs: T[]) =>
            xs
              .map((x) => ({ x, r: it.next().value as number }))
              .sort((p, q) => p.r - q.r)
              .map((p) => p.x);
          const shuffled: Record<string, number[]> = {};
          for (const k of shuffle(Object.keys(remove))) {
            const list = remove[k]!;
            shuffled[k] = shuffle([...list, ...list.slice(0, 1)]);
          }
          expect(planKey(plan(shuffled))).toBe(planKey(plan(remove)));
        },
      ),
    );
  });

  it('tells different plans apart, separators in layer names included', () => {
    expect(planKey(plan({ a: [1] }))).not.toBe(planKey(plan({ a: [2] })));
    expect(planKey(plan({ 'a:1|b': [2] }))).not.toBe(planKey(plan({ a: [1], b: [2] })));
    expect(planKey(plan({}))).toBe('');
    expect(planKey(plan({ b: [3, 1], a: [] }))).toBe('b:1,3');
  });
});

type Op =
  | { kind: 'commit'; plan: Record<string, number[]> }
  | { kind: 'undo' }
  | { kind: 'redo' }
  | { kind: 'jump'; to: number };

/** The reference: a list of plan keys and a cursor, written as plainly as possible. */
class ReferenceHistory {
  keys: string[];
  cursor = 0;
  constructor(first: string) {
    this.keys = [first];
  }
  apply(op: Op): void {
    if (op.kind === 'undo') this.cursor = Math.max(0, this.cursor - 1);
    else if (op.kind === 'redo') this.cursor = Math.min(this.keys.length - 1, this.cursor + 1);
    else if (op.kind === 'jump') this.cursor = Math.max(0, Math.min(this.keys.length - 1, op.to));
    else {
      const key = planKey(plan(op.plan));
      if (key === this.keys[this.cursor]) return;
      this.keys = [...this.keys.slice(0, this.cursor + 1), key];
      this.cursor = this.keys.length - 1;
    }
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('commit' as const),
    plan: fc.dictionary(fc.constantFrom('conv1', 'conv2'), fc.array(fc.nat(3), { maxLength: 2 })),
  }),
  fc.record({ kind: fc.constant('undo' as const) }),
  fc.record({ kind: fc.constant('redo' as const) }),
  fc.record({ kind: fc.constant('jump' as const), to: fc.integer({ min: -2, max: 12 }) }),
);

describe('plan history', () => {
  it('any sequence of commits, undos, redos and jumps gives the plans of a reference list model', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        let h = startHistory(plan({}), 'open', 0);
        const ref = new ReferenceHistory('');
        for (const op of ops) {
          if (op.kind === 'commit') h = commitStep(h, plan(op.plan), 'commit', 1);
          else if (op.kind === 'undo') h = undoStep(h);
          else if (op.kind === 'redo') h = redoStep(h);
          else h = jumpToStep(h, op.to);
          ref.apply(op);
          expect(h.steps.map((s) => s.key)).toEqual(ref.keys);
          expect(h.index).toBe(ref.cursor);
          expect(currentStep(h).key).toBe(ref.keys[ref.cursor]);
          expect(canUndo(h)).toBe(ref.cursor > 0);
          expect(canRedo(h)).toBe(ref.cursor < ref.keys.length - 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the abandoned branch until the next commit, then drops it', () => {
    let h = startHistory(plan({}), 'open');
    h = commitStep(h, plan({ c: [1] }), 'tick c #1');
    h = commitStep(h, plan({ c: [1, 2] }), 'tick c #2');
    h = jumpToStep(h, 0);
    expect(h.steps.map((s) => s.label)).toEqual(['open', 'tick c #1', 'tick c #2']);
    expect(redoStep(h).index).toBe(1);
    h = commitStep(h, plan({ c: [3] }), 'tick c #3');
    expect(h.steps.map((s) => s.label)).toEqual(['open', 'tick c #3']);
  });

  it('a commit of the plan on screen is no step; the history is capped', () => {
    let h = startHistory(plan({ a: [1] }), 'open');
    expect(commitStep(h, plan({ a: [1, 1] }), 'same')).toBe(h);
    for (let i = 0; i < MAX_HISTORY_STEPS + 20; i++)
      h = commitStep(h, plan({ a: [i % 2, 2 + (i % 7)] }), `s${i}`);
    expect(h.steps.length).toBe(MAX_HISTORY_STEPS);
    expect(h.index).toBe(MAX_HISTORY_STEPS - 1);
  });

  it('reads back what it wrote, and refuses what is not a history', () => {
    const h = commitStep(startHistory(plan({}), 'open', 5), plan({ b: [2, 0] }), 'tick', 6);
    expect(asPlanHistory(JSON.parse(JSON.stringify(h)))).toEqual(h);
    for (const bad of [
      null,
      3,
      {},
      { steps: [], index: 0 },
      { steps: [{ label: 'x', plan: null }], index: 0 },
      { ...h, index: 2 },
      { steps: [{ label: 'x', plan: { remove: { a: [-1] } } }], index: 0 },
    ]) {
      expect(asPlanHistory(bad)).toBeNull();
    }
  });
});
