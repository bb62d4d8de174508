/**
 * Benchmark models at the size of the real thing, built with the tfjs layers API after Keras
 * Applications' `mobilenet_v2.py` (alpha 1.0, 224x224: 3,538,984 params, 155 layers) and
 * `inception_v3.py` (299x299: 23,851,784 params, 313 layers), with their layer names. Random weights:
 * for timing graph analysis, scoring and surgery (and latency of the pruned model), not accuracy.
 */
import * as tf from '@tensorflow/tfjs';

const L = tf.layers;
type T = tf.SymbolicTensor;

function apply(layer: tf.layers.Layer, x: T | T[]): T {
  return layer.apply(x) as T;
}

/** Keras `_make_divisible`: the nearest multiple of 8, not more than 10% below. */
function makeDivisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

/** MobileNetV2 (Sandler et al. 2018) as in Keras Applications, alpha 1.0: inverted residual blocks, ReLU6, linear bottlenecks. */
export function mobilenetV2(inputSize = 224, classes = 1000): tf.LayersModel {
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input_1' });
  let x = apply(
    L.conv2d({ name: 'Conv1', filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false }),
    input,
  );
  x = apply(L.batchNormalization({ name: 'bn_Conv1', epsilon: 1e-3, momentum: 0.999 }), x);
  x = apply(L.reLU({ name: 'Conv1_relu', maxValue: 6 }), x);
  let channels = 32;
  const block = (filters: number, stride: number, expansion: number, id: number) => {
    const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    const out = makeDivisible(filters);
    let y = x;
    if (id > 0) {
      y = apply(
        L.conv2d({ name: `${prefix}expand`, filters: expansion * channels, kernelSize: 1, useBias: false }),
        y,
      );
      y = apply(L.batchNormalization({ name: `${prefix}expand_BN`, epsilon: 1e-3, momentum: 0.999 }), y);
      y = apply(L.reLU({ name: `${prefix}expand_relu`, maxValue: 6 }), y);
    }
    if (stride === 2)
      y = apply(
        L.zeroPadding2d({
          name: `${prefix}pad`,
          padding: [
            [0, 1],
            [0, 1],
          ],
        }),
        y,
      );
    y = apply(
      L.depthwiseConv2d({
        name: `${prefix}depthwise`,
        kernelSize: 3,
        strides: stride,
        padding: stride === 1 ? 'same' : 'valid',
        useBias: false,
      }),
      y,
    );
    y = apply(L.batchNormalization({ name: `${prefix}depthwise_BN`, epsilon: 1e-3, momentum: 0.999 }), y);
    y = apply(L.reLU({ name: `${prefix}depthwise_relu`, maxValue: 6 }), y);
    y = apply(L.conv2d({ name: `${prefix}project`, filters: out, kernelSize: 1, useBias: false }), y);
    y = apply(L.batchNormalization({ name: `${prefix}project_BN`, epsilon: 1e-3, momentum: 0.999 }), y);
    if (channels === out && stride === 1) y = apply(L.add({ name: `${prefix}add` }), [x, y]);
    x = y;
    channels = out;
  };
  const spec: [number, number, number, number][] = [
    [16, 1, 1, 1],
    [24, 2, 6, 2],
    [32, 2, 6, 3],
    [64, 2, 6, 4],
    [96, 1, 6, 3],
    [160, 2, 6, 3],
    [320, 1, 6, 1],
  ];
  let id = 0;
  for (const [filters, stride, expansion, repeats] of spec) {
    for (let r = 0; r < repeats; r++) block(filters, r === 0 ? stride : 1, expansion, id++);
  }
  x = apply(L.conv2d({ name: 'Conv_1', filters: 1280, kernelSize: 1, useBias: false }), x);
  x = apply(L.batchNormalization({ name: 'Conv_1_bn', epsilon: 1e-3, momentum: 0.999 }), x);
  x = apply(L.reLU({ name: 'out_relu', maxValue: 6 }), x);
  x = apply(L.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
  const out = apply(L.dense({ name: 'predictions', units: classes, activation: 'softmax' }), x);
  return tf.model({ inputs: input, outputs: out, name: 'mobilenetv2_1.00_224' });
}

/** InceptionV3 (Szegedy et al. 2016) as in Keras Applications: factorised convolutions, mixed0..mixed10 concatenations. */
export function inceptionV3(inputSize = 299, classes = 1000): tf.LayersModel {
  let n = 0;
  const convBn = (
    x: T,
    filters: number,
    rows: number,
    cols: number,
    padding: 'same' | 'valid' = 'same',
    strides = 1,
  ): T => {
    const suffix = n === 0 ? '' : `_${n}`;
    n++;
    let y = apply(
      L.conv2d({
        name: `conv2d${suffix}`,
        filters,
        kernelSize: [rows, cols],
        strides,
        padding,
        useBias: false,
      }),
      x,
    );
    y = apply(L.batchNormalization({ name: `batch_normalization${suffix}`, scale: false }), y);
    return apply(L.activation({ name: `activation${suffix}`, activation: 'relu' }), y);
  };
  let pools = 0;
  const avgPool = (x: T) =>
    apply(
      L.averagePooling2d({ name: `average_pooling2d_${pools++}`, poolSize: 3, strides: 1, padding: 'same' }),
      x,
    );
  let maxPools = 0;
  const maxPool = (x: T) =>
    apply(L.maxPooling2d({ name: `max_pooling2d_${maxPools++}`, poolSize: 3, strides: 2 }), x);
  const concat = (name: string, xs: T[]) => apply(L.concatenate({ name, axis: -1 }), xs);

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input_1' });
  let x = convBn(input, 32, 3, 3, 'valid', 2);
  x = convBn(x, 32, 3, 3, 'valid');
  x = convBn(x, 64, 3, 3);
  x = maxPool(x);
  x = convBn(x, 80, 1, 1, 'valid');
  x = convBn(x, 192, 3, 3, 'valid');
  x = maxPool(x);
  // mixed 0, 1, 2: 35 x 35 x 256 / 288 / 288
  for (const [i, pool] of [
    [0, 32],
    [1, 64],
    [2, 64],
  ] as const) {
    const b1 = convBn(x, 64, 1, 1);
    const b5 = convBn(convBn(x, 48, 1, 1), 64, 5, 5);
    const b3 = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = convBn(avgPool(x), pool, 1, 1);
    x = concat(`mixed${i}`, [b1, b5, b3, bp]);
  }
  // mixed 3: 17 x 17 x 768
  {
    const b3 = convBn(x, 384, 3, 3, 'valid', 2);
    const bd = convBn(convBn(convBn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2);
    x = concat('mixed3', [b3, bd, maxPool(x)]);
  }
  // mixed 4, 5, 6, 7: 17 x 17 x 768
  for (const [i, c] of [
    [4, 128],
    [5, 160],
    [6, 160],
    [7, 192],
  ] as const) {
    const b1 = convBn(x, 192, 1, 1);
    const b7 = convBn(convBn(convBn(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    let bd = convBn(x, c, 1, 1);
    bd = convBn(bd, c, 7, 1);
    bd = convBn(bd, c, 1, 7);
    bd = convBn(bd, c, 7, 1);
    bd = convBn(bd, 192, 1, 7);
    const bp = convBn(avgPool(x), 192, 1, 1);
    x = concat(`mixed${i}`, [b1, b7, bd, bp]);
  }
  // mixed 8: 8 x 8 x 1280
  {
    const b3 = convBn(convBn(x, 192, 1, 1), 320, 3, 3, 'valid', 2);
    let b7 = convBn(x, 192, 1, 1);
    b7 = convBn(b7, 192, 1, 7);
    b7 = convBn(b7, 192, 7, 1);
    b7 = convBn(b7, 192, 3, 3, 'valid', 2);
    x = concat('mixed8', [b3, b7, maxPool(x)]);
  }
  // mixed 9, 10: 8 x 8 x 2048
  for (const i of [0, 1]) {
    const b1 = convBn(x, 320, 1, 1);
    const b3 = convBn(x, 384, 1, 1);
    const b3cat = concat(`mixed9_${i}`, [convBn(b3, 384, 1, 3), convBn(b3, 384, 3, 1)]);
    const bd = convBn(convBn(x, 448, 1, 1), 384, 3, 3);
    const bdcat = concat(`concatenate${i === 0 ? '' : `_${i}`}`, [
      convBn(bd, 384, 1, 3),
      convBn(bd, 384, 3, 1),
    ]);
    const bp = convBn(avgPool(x), 192, 1, 1);
    x = concat(`mixed${9 + i}`, [b1, b3cat, bdcat, bp]);
  }
  x = apply(L.globalAveragePooling2d({ name: 'avg_pool' }), x);
  const out = apply(L.dense({ name: 'predictions', units: classes, activation: 'softmax' }), x);
  return tf.model({ inputs: input, outputs: out, name: 'inception_v3' });
}

/** The two benchmark models, freshly built (the caller disposes them). */
export function buildBenchModels(): { name: string; model: tf.LayersModel }[] {
  return [
    { name: 'MobileNetV2', model: mobilenetV2() },
    { name: 'InceptionV3', model: inceptionV3() },
  ];
}
