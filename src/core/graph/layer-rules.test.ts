import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../io/tf-artifacts';
import { buildModelIR } from '../ir/build-ir';
import {
  convOutputLength,
  deconvOutputLength,
  expandKept,
  LAYER_RULES,
  ruleFor,
  ruleOf,
} from './layer-rules';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Builds a Sequential from layer factories and checks every inferred output shape against tfjs's own. */
async function expectShapesLikeTfjs(inputShape: number[], make: (() => tf.layers.Layer)[]): Promise<void> {
  const m = tf.sequential();
  make.forEach((f, i) => {
    const l = f();
    if (i === 0) {
      // Re-create the first layer with the input shape via its config.
      const cls = l.getClassName();
      const ctor = tf.serialization.SerializationMap.getMap().classNameMap[cls]![0] as unknown as new (
        args: object,
      ) => tf.layers.Layer;
      const cfg = Object.fromEntries(
        Object.entries(l.getConfig()).map(([k, v]) => [
          k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
          v,
        ]),
      );
      m.add(new ctor({ ...cfg, inputShape }));
    } else m.add(l);
  });
  const a = await artifactsFromLayersModel(m);
  const ir = buildModelIR(a);
  expect(ir.layers.map((l) => [l.className, l.outputShape])).toEqual(
    m.layers.map((l) => [l.getClassName(), l.outputShape]),
  );
  m.dispose();
}

describe('shape inference matches tfjs', () => {
  const L = tf.layers;
  it('2D convolutions, pooling, padding, cropping, upsampling', async () => {
    await expectShapesLikeTfjs(
      [13, 11, 3],
      [
        () => L.conv2d({ filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'valid' }),
        () =>
          L.zeroPadding2d({
            padding: [
              [1, 2],
              [0, 3],
            ],
          }),
        () =>
          L.cropping2D({
            cropping: [
              [1, 0],
              [2, 1],
            ],
          }),
        () => L.conv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'valid' }),
        () => L.upSampling2d({ size: [2, 3] }),
        () => L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        () => L.averagePooling2d({ poolSize: [2, 3], padding: 'valid' }),
        () => L.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 3, strides: 2, padding: 'same' }),
        () => L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
        () => L.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid' }),
        () => L.separableConv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid' }),
        () => L.batchNormalization({}),
        () => L.layerNormalization({}),
        () => L.prelu({ sharedAxes: [1, 2] }),
        () => L.softmax({}),
        () => L.dense({ units: 7 }),
        () => L.globalAveragePooling2d({}),
      ],
    );
  });

  it('1D, 3D, Flatten, Reshape, Permute, Dense', async () => {
    await expectShapesLikeTfjs(
      [17, 2],
      [
        () => L.conv1d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
        () => L.maxPooling1d({ poolSize: 2 }),
        () => L.averagePooling1d({ poolSize: 3, strides: 1, padding: 'valid' }),
        () => L.reshape({ targetShape: [2, 2, 2] }),
        () => L.permute({ dims: [2, 1, 3] }),
        () => L.flatten({}),
        () => L.dense({ units: 3 }),
      ],
    );
    await expectShapesLikeTfjs(
      [6, 7, 5, 2],
      [
        () => L.conv3d({ filters: 3, kernelSize: [3, 2, 1], padding: 'valid' }),
        () => L.maxPooling3d({ poolSize: 2, padding: 'same' }),
        () => L.flatten({}),
      ],
    );
  });
});

describe('layer rules', () => {
  it('Keras conv arithmetic', () => {
    expect(convOutputLength(28, 3, 'valid', 1)).toBe(26);
    expect(convOutputLength(28, 3, 'same', 2)).toBe(14);
    expect(convOutputLength(7, 3, 'valid', 2, 2)).toBe(2); // dilated kernel 5
    expect(convOutputLength(null, 3, 'same', 1)).toBeNull();
    expect(deconvOutputLength(5, 3, 'valid', 2, null)).toBe(11);
    expect(deconvOutputLength(5, 3, 'same', 2, null)).toBe(10);
    expect(deconvOutputLength(5, 3, 'same', 2, 1)).toBe(10);
  });

  it('expandKept follows depthwise multipliers and channels-last Flatten', () => {
    expect(expandKept([0, 2], 3, 2, 1)).toEqual([0, 1, 4, 5]);
    expect(expandKept([1], 2, 1, 3)).toEqual([1, 3, 5]);
    expect(expandKept([1, 2], 3, 1, 2)).toEqual([1, 2, 4, 5]);
  });

  it('behaviour is by class: BN weights follow scale/center, PReLU shared axes, LayerNorm caveat', () => {
    const bn = ruleFor('BatchNormalization')!;
    const layer = { name: 'bn', className: 'BatchNormalization', config: { scale: false, center: true } };
    expect(bn.weights!(layer, [null, 4, 4, 8]).map((w) => [w.role, w.axes])).toEqual([
      ['beta', [{ kind: 'in', factor: 1 }]],
      ['moving_mean', [{ kind: 'in', factor: 1 }]],
      ['moving_variance', [{ kind: 'in', factor: 1 }]],
    ]);
    const prelu = ruleFor('PReLU')!;
    expect(
      prelu.weights!({ name: 'p', className: 'PReLU', config: { shared_axes: [3] } }, [null, 4, 5, 8]),
    ).toEqual([
      {
        role: 'alpha',
        axes: [
          { kind: 'fixed', size: 4 },
          { kind: 'fixed', size: 5 },
          { kind: 'fixed', size: 1 },
        ],
      },
    ]);
    const ln = ruleFor('LayerNormalization')!;
    expect(
      ln.caveat!({ name: 'ln', className: 'LayerNormalization', config: { axis: -1 } }, [null, 8]),
    ).toMatch(/normalises over the channels/);
    expect(
      ln.caveat!({ name: 'ln', className: 'LayerNormalization', config: { axis: [1, 2] } }, [null, 4, 4, 8]),
    ).toBe(undefined);
    expect(ruleFor('Lambda')).toBeUndefined();
    expect(ruleOf('Lambda')).toMatchObject({ behaviour: 'opaque', status: 'unknown' });
    expect(ruleFor('toString')).toBeUndefined();
    expect(LAYER_RULES['Add']!.status).toBe('ready');
    expect(LAYER_RULES['Concatenate']!.behaviour).toBe('concat');
    expect(LAYER_RULES['GlobalAveragePooling2D']!.behaviour).toBe('reduce-to-channels');
  });
});
