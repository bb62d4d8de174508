// eslint-disable-next-line no-restricted-imports -- vitest runs in Node: the sources are read from disk
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CRITERIA } from '../scoring/types';
import { SCORERS } from '../scoring/scorers';
import { LAYER_RULES, isPerValue, kerasClassOf, ruleFor, ruleOf, unitWord } from './layer-rules';

const here = new URL('.', import.meta.url);
const imports = (dir: string, file: string): string[] =>
  [...readFileSync(new URL(`${dir}/${file}`, here), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
const sources = (dir: string) =>
  readdirSync(new URL(dir, here)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

describe('the IR is the bottom floor a second importer builds on', () => {
  it('ir/ imports only itself and the errors leaf (no io/, no graph/)', () => {
    for (const file of sources('.')) {
      const outside = imports('.', file).filter((p) => p.startsWith('..') && p !== '../errors');
      expect(outside, file).toEqual([]);
    }
  });

  it('scoring/ does not import evaluate/', () => {
    for (const file of sources('../scoring')) {
      expect(
        imports('../scoring', file).filter((p) => p.includes('evaluate')),
        file,
      ).toEqual([]);
    }
  });
});

describe('one row per layer class', () => {
  it("Keras's columns: variable order, non-trainable variables, portable arguments", () => {
    expect(kerasClassOf('BatchNormalization')?.roles?.({ scale: false })).toEqual([
      'beta',
      'moving_mean',
      'moving_variance',
    ]);
    expect(kerasClassOf('SeparableConv2D')?.roles?.({ use_bias: false })).toEqual([
      'depthwise_kernel',
      'pointwise_kernel',
    ]);
    expect(kerasClassOf('DepthwiseConv2D')?.args).not.toContain('groups');
    expect(kerasClassOf('Lambda')).toBeUndefined();
    // Keras-only rows load like unknown classes: no rule to analyse with, the cautious one to load with.
    expect(ruleFor('Conv1DTranspose')).toBeUndefined();
    expect(ruleOf('Conv1DTranspose')).toMatchObject({ behaviour: 'opaque', status: 'unknown' });
    expect(kerasClassOf('Embedding')?.roles?.({})).toEqual(['embeddings']);
  });

  it('per-value layers and unit words come from the rows', () => {
    const layer = (className: string, config: Record<string, unknown> = {}) => ({
      name: 'x',
      className,
      config,
    });
    expect(isPerValue(layer('ReLU'))).toBe(true);
    expect(isPerValue(layer('Activation', { activation: 'relu' }))).toBe(true);
    expect(isPerValue(layer('Activation', { activation: 'softmax' }))).toBe(false);
    expect(isPerValue(layer('MaxPooling2D'))).toBe(false);
    expect(isPerValue(layer('Lambda'))).toBe(false);
    expect([unitWord('Dense', 2), unitWord('Conv2D', 1), unitWord('Add', 3), unitWord('Lambda', 1)]).toEqual([
      'units',
      'filter',
      'channels',
      'channel',
    ]);
    // Every producer row names its unit.
    for (const [name, rule] of Object.entries(LAYER_RULES)) {
      if (rule.behaviour === 'producer') expect(rule.unit, name).toBeDefined();
    }
  });
});

describe('one entry per criterion', () => {
  it('the scorers table and the menu agree on every criterion and on which need data', () => {
    expect(Object.keys(SCORERS).sort()).toEqual(CRITERIA.map((c) => c.id).sort());
    for (const c of CRITERIA) expect(SCORERS[c.id].kind, c.id).toBe(c.dataBased ? 'data' : 'weights');
  });
});
