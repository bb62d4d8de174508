import { describe, expect, it } from 'vitest';
import type { ModelArtifactsData, WeightTensor } from '../ir/artifacts';
import { describeNonFinite, nonFiniteWeights } from './weight-health';

const w = (name: string, values: number[], dtype: 'float32' | 'int32' = 'float32'): WeightTensor => ({
  name,
  shape: [values.length],
  dtype,
  values: dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values),
});
const model = (weights: WeightTensor[]) =>
  ({ modelTopology: { class_name: 'Sequential', config: { layers: [] } }, weights }) as ModelArtifactsData;

describe('nonFiniteWeights', () => {
  it('names each weight holding NaN or ±Inf with its counts, by layer, in manifest order', () => {
    const list = nonFiniteWeights(
      model([
        w('conv1/kernel', [1, NaN, NaN, 2]),
        w('conv1/bias', [0, 0]),
        w('base/conv2/kernel:0', [Infinity, -Infinity, NaN]),
        w('layers/dense/vars/0', [-Infinity]),
        w('steps', [7], 'int32'),
      ]),
    );
    expect(list).toEqual([
      { layer: 'conv1', weight: 'conv1/kernel', nan: 2, inf: 0 },
      { layer: 'base/conv2', weight: 'base/conv2/kernel:0', nan: 1, inf: 2 },
      { layer: 'dense', weight: 'layers/dense/vars/0', nan: 0, inf: 1 },
    ]);
    expect(describeNonFinite(list)).toBe('conv1 (2 NaN), base/conv2 (1 NaN, 2 Inf), dense (1 Inf)');
    expect(describeNonFinite(list, 1)).toBe('conv1 (2 NaN) and 2 more');
  });

  it('is empty for a healthy model (huge but finite values included)', () => {
    expect(nonFiniteWeights(model([w('d/kernel', [3.4e38, -3.4e38, 0])]))).toEqual([]);
  });

  it('counts every NaN and Inf of a long weight, wherever it sits (chunk edges included)', () => {
    const v = new Float32Array(20000).fill(0.5);
    const at = [0, 1, 4095, 4096, 4097, 8191, 12000, 19999];
    at.forEach((i, k) => (v[i] = k % 3 === 0 ? NaN : k % 3 === 1 ? Infinity : -Infinity));
    v[9000] = -3.4e38;
    v[9001] = 3.4e38;
    const list = nonFiniteWeights(
      model([{ name: 'big/kernel', shape: [20000], dtype: 'float32', values: v }]),
    );
    expect(list).toEqual([{ layer: 'big', weight: 'big/kernel', nan: 3, inf: 5 }]);
    expect(
      nonFiniteWeights(model([{ name: 'ok', shape: [20000], dtype: 'float32', values: v.fill(-0) }])),
    ).toEqual([]);
  });
});
