/**
 * Test-only: small models in the shape of the architectures people prune, built with the tfjs layers
 * API (tiny sizes so that inference in tests is fast). Each returns a fresh, unweighted-by-us model;
 * tests snapshot it with `artifactsFromLayersModel` and randomise the weights.
 */
import * as tf from '@tensorflow/tfjs';

const L = tf.layers;
type T = tf.SymbolicTensor;

function apply(layer: tf.layers.Layer, x: T | T[]): T {
  return layer.apply(x) as T;
}

function convBn(
  x: T,
  name: string,
  filters: number,
  kernel: number,
  strides = 1,
  relu: 'relu' | 'relu6' | null = 'relu',
): T {
  let y = apply(L.conv2d({ name, filters, kernelSize: kernel, strides, padding: 'same', useBias: false }), x);
  y = apply(L.batchNormalization({ name: `${name}_bn` }), y);
  if (relu === 'relu') y = apply(L.reLU({ name: `${name}_relu` }), y);
  if (relu === 'relu6') y = apply(L.reLU({ name: `${name}_relu6`, maxValue: 6 }), y);
  return y;
}

/** ResNet-style: a stem, two identity blocks (one stage, one group), a projection block and an identity block (a second stage). */
export function resnetStyle(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  let x = convBn(input, 'stem', 6, 3);
  for (const b of ['b1', 'b2']) {
    let y = convBn(x, `${b}_c1`, 4, 3);
    y = convBn(y, `${b}_c2`, 6, 3, 1, null);
    x = apply(L.reLU({ name: `${b}_out` }), apply(L.add({ name: `${b}_add` }), [x, y]));
  }
  // Projection shortcut: stride 2, 6 -> 8 channels.
  let y = convBn(x, 'p_c1', 5, 3, 2);
  y = convBn(y, 'p_c2', 8, 3, 1, null);
  const shortcut = convBn(x, 'p_short', 8, 1, 2, null);
  x = apply(L.reLU({ name: 'p_out' }), apply(L.add({ name: 'p_add' }), [shortcut, y]));
  y = convBn(x, 'b3_c1', 4, 3);
  y = convBn(y, 'b3_c2', 8, 3, 1, null);
  x = apply(L.add({ name: 'b3_add' }), [x, y]);
  x = apply(L.globalAveragePooling2d({ name: 'gap' }), x);
  const out = apply(L.dense({ name: 'logits', units: 3 }), x);
  return tf.model({ inputs: input, outputs: out, name: 'resnet_style' });
}

/** MobileNetV2-style inverted residuals: expansion, depthwise (multiplier 1 and 2), linear bottleneck, residual add, plus a squeeze-excite gate. */
export function mobilenetV2Style(): tf.LayersModel {
  const input = tf.input({ shape: [10, 10, 3], name: 'image' });
  let x = apply(
    L.zeroPadding2d({
      name: 'pad',
      padding: [
        [0, 1],
        [0, 1],
      ],
    }),
    input,
  );
  x = apply(
    L.conv2d({ name: 'conv1', filters: 6, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }),
    x,
  );
  x = apply(L.batchNormalization({ name: 'conv1_bn' }), x);
  x = apply(L.reLU({ name: 'conv1_relu', maxValue: 6 }), x);
  // Block 0: no expansion, depthwise m=1, project to 4.
  x = apply(L.depthwiseConv2d({ name: 'b0_dw', kernelSize: 3, padding: 'same', useBias: false }), x);
  x = apply(L.batchNormalization({ name: 'b0_dw_bn' }), x);
  x = apply(L.reLU({ name: 'b0_dw_relu', maxValue: 6 }), x);
  x = apply(L.conv2d({ name: 'b0_project', filters: 4, kernelSize: 1, useBias: false }), x);
  x = apply(L.batchNormalization({ name: 'b0_project_bn' }), x);
  const block = (x0: T, name: string, expand: number, multiplier: number, out: number, stride: number): T => {
    let y = convBn(x0, `${name}_expand`, expand, 1, 1, 'relu6');
    y = apply(
      L.depthwiseConv2d({
        name: `${name}_dw`,
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        depthMultiplier: multiplier,
      }),
      y,
    );
    y = apply(L.batchNormalization({ name: `${name}_dw_bn` }), y);
    y = apply(L.reLU({ name: `${name}_dw_relu`, maxValue: 6 }), y);
    y = apply(L.conv2d({ name: `${name}_project`, filters: out, kernelSize: 1, useBias: false }), y);
    y = apply(L.batchNormalization({ name: `${name}_project_bn` }), y);
    return y;
  };
  x = apply(L.add({ name: 'b1_add' }), [x, block(x, 'b1', 8, 1, 4, 1)]);
  x = block(x, 'b2', 6, 2, 6, 2);
  // Squeeze-excite on the expanded channels of block 3, then a residual add.
  let y = convBn(x, 'b3_expand', 16, 1, 1, 'relu6');
  y = apply(L.depthwiseConv2d({ name: 'b3_dw', kernelSize: 3, padding: 'same' }), y);
  y = apply(L.reLU({ name: 'b3_dw_relu', maxValue: 6 }), y);
  let se = apply(L.globalAveragePooling2d({ name: 'b3_se_pool' }), y);
  se = apply(L.dense({ name: 'b3_se_reduce', units: 4, activation: 'relu' }), se);
  se = apply(L.dense({ name: 'b3_se_expand', units: 16, activation: 'sigmoid' }), se);
  se = apply(L.reshape({ name: 'b3_se_reshape', targetShape: [1, 1, 16] }), se);
  y = apply(L.multiply({ name: 'b3_se_scale' }), [y, se]);
  y = apply(L.conv2d({ name: 'b3_project', filters: 6, kernelSize: 1, useBias: false }), y);
  y = apply(L.batchNormalization({ name: 'b3_project_bn' }), y);
  x = apply(L.add({ name: 'b3_add' }), [x, y]);
  x = convBn(x, 'head_conv', 12, 1, 1, 'relu6');
  x = apply(L.globalAveragePooling2d({ name: 'gap' }), x);
  x = apply(L.dropout({ name: 'dropout', rate: 0.2 }), x);
  const out = apply(L.dense({ name: 'logits', units: 3, activation: 'softmax' }), x);
  return tf.model({ inputs: input, outputs: out, name: 'mobilenet_v2_style' });
}

/** Inception-style: parallel branches concatenated, a module whose branch is itself a concatenation, and a concatenation of both modules. */
export function inceptionStyle(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  const stem = convBn(input, 'stem', 6, 3);
  // Module A: 1x1 | 1x1 -> 3x3 | maxpool -> 1x1 | avgpool -> 1x1.
  const a1 = convBn(stem, 'a_1x1', 3, 1);
  const a2 = convBn(convBn(stem, 'a_3x3_reduce', 2, 1), 'a_3x3', 4, 3);
  const a3 = convBn(
    apply(L.maxPooling2d({ name: 'a_pool', poolSize: 3, strides: 1, padding: 'same' }), stem),
    'a_pool_proj',
    2,
    1,
  );
  const a4 = convBn(
    apply(L.averagePooling2d({ name: 'a_avg', poolSize: 3, strides: 1, padding: 'same' }), stem),
    'a_avg_proj',
    3,
    1,
  );
  const mixedA = apply(L.concatenate({ name: 'mixed_a' }), [a1, a2, a3, a4]);
  // Module B (InceptionV3 mixed9 style): one branch splits into 1x3 and 3x1, concatenated inside.
  const b1 = convBn(mixedA, 'b_1x1', 4, 1);
  const b2 = convBn(mixedA, 'b_split', 3, 1);
  const b2a = apply(L.conv2d({ name: 'b_1x3', filters: 2, kernelSize: [1, 3], padding: 'same' }), b2);
  const b2b = apply(L.conv2d({ name: 'b_3x1', filters: 3, kernelSize: [3, 1], padding: 'same' }), b2);
  const b2cat = apply(L.concatenate({ name: 'b_split_cat' }), [b2a, b2b]);
  const b3 = convBn(
    apply(L.averagePooling2d({ name: 'b_avg', poolSize: 3, strides: 1, padding: 'same' }), mixedA),
    'b_avg_proj',
    2,
    1,
  );
  const mixedB = apply(L.concatenate({ name: 'mixed_b' }), [b1, b2cat, b3]);
  // A concatenation of concatenations, then a 1x1 that reads it all at offsets.
  const both = apply(L.concatenate({ name: 'mixed_ab' }), [mixedA, mixedB]);
  const fuse = convBn(both, 'fuse', 5, 1);
  const pooled = apply(L.globalMaxPooling2d({ name: 'gmp' }), fuse);
  const out = apply(L.dense({ name: 'logits', units: 3 }), pooled);
  return tf.model({ inputs: input, outputs: out, name: 'inception_style' });
}

/** DenseNet-style block: each layer's output is concatenated onto everything before it, then a transition. */
export function densenetStyle(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2], name: 'image' });
  let x = apply(L.conv2d({ name: 'stem', filters: 4, kernelSize: 3, padding: 'same' }), input);
  for (let i = 0; i < 3; i++) {
    let y = apply(L.batchNormalization({ name: `d${i}_bn1` }), x);
    y = apply(L.reLU({ name: `d${i}_relu1` }), y);
    y = apply(L.conv2d({ name: `d${i}_bottleneck`, filters: 6, kernelSize: 1, useBias: false }), y);
    y = apply(L.batchNormalization({ name: `d${i}_bn2` }), y);
    y = apply(L.reLU({ name: `d${i}_relu2` }), y);
    y = apply(
      L.conv2d({ name: `d${i}_conv`, filters: 3, kernelSize: 3, padding: 'same', useBias: false }),
      y,
    );
    x = apply(L.concatenate({ name: `d${i}_concat` }), [x, y]);
  }
  x = apply(L.batchNormalization({ name: 'transition_bn' }), x);
  x = apply(L.reLU({ name: 'transition_relu' }), x);
  x = apply(L.conv2d({ name: 'transition_conv', filters: 5, kernelSize: 1 }), x);
  x = apply(L.averagePooling2d({ name: 'transition_pool', poolSize: 2 }), x);
  x = apply(L.globalAveragePooling2d({ name: 'gap' }), x);
  const out = apply(L.dense({ name: 'logits', units: 3 }), x);
  return tf.model({ inputs: input, outputs: out, name: 'densenet_style' });
}

/** A residual stage, pooled and flattened into Dense layers: the coupled group reaches Dense rows `c + C*k`. */
export function flattenAfterResidual(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 2], name: 'image' });
  const a = convBn(input, 'a', 4, 3);
  let y = convBn(a, 'r_c1', 3, 3);
  y = convBn(y, 'r_c2', 4, 3, 1, null);
  let x = apply(L.add({ name: 'r_add' }), [a, y]);
  x = apply(L.reLU({ name: 'r_relu' }), x);
  x = apply(L.maxPooling2d({ name: 'pool', poolSize: 2 }), x);
  x = apply(L.flatten({ name: 'flatten' }), x);
  x = apply(L.dense({ name: 'fc1', units: 6, activation: 'relu' }), x);
  const out = apply(L.dense({ name: 'logits', units: 3 }), x);
  return tf.model({ inputs: input, outputs: out, name: 'flatten_after_residual' });
}

/**
 * Transfer learning: an outer stem feeds a nested Functional base (with its own InputLayer and a
 * residual add inside), then a nested Sequential head (first layer with `batch_input_shape`), then a classifier.
 */
export function transferNested(): tf.LayersModel {
  const baseIn = tf.input({ shape: [6, 6, 5], name: 'base_input' });
  const c1 = convBn(baseIn, 'base_c1', 4, 3);
  const c2 = convBn(c1, 'base_c2', 4, 3, 1, null);
  let bx = apply(L.add({ name: 'base_add' }), [c1, c2]);
  bx = apply(L.reLU({ name: 'base_relu' }), bx);
  bx = apply(L.conv2d({ name: 'base_out', filters: 6, kernelSize: 1, activation: 'relu' }), bx);
  const base = tf.model({ inputs: baseIn, outputs: bx, name: 'base' });
  const head = tf.sequential({
    name: 'head',
    layers: [
      L.conv2d({ name: 'head_conv', inputShape: [6, 6, 6], filters: 3, kernelSize: 1 }),
      L.reLU({ name: 'head_relu' }),
    ],
  });
  const input = tf.input({ shape: [6, 6, 2], name: 'image' });
  let x = apply(L.conv2d({ name: 'stem', filters: 5, kernelSize: 3, padding: 'same' }), input);
  x = apply(base, x);
  x = apply(head, x);
  x = apply(L.globalAveragePooling2d({ name: 'gap' }), x);
  const out = apply(L.dense({ name: 'classifier', units: 2 }), x);
  return tf.model({ inputs: input, outputs: out, name: 'transfer' });
}

/** The zoo, by name, for table-driven tests. */
export const ZOO: Readonly<Record<string, () => tf.LayersModel>> = {
  resnet: resnetStyle,
  mobilenetv2: mobilenetV2Style,
  inception: inceptionStyle,
  densenet: densenetStyle,
  'flatten-after-residual': flattenAfterResidual,
  'transfer-nested': transferNested,
};
