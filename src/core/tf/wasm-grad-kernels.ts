import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/**
 * Gradient kernels the tfjs `wasm` backend (4.22) lacks, composed from ops it has, so that
 * training, fine-tuning and Taylor scores run on wasm instead of falling back to the slow cpu backend.
 *
 * All three are written for NHWC, dilation 1 (tfjs-core's conv gradients assert dilation 1 anyway)
 * and use `computeConv2DInfo` for the padding so 'same', 'valid' and explicit pads agree exactly
 * with the forward kernel. Layouts: Conv2D filter `[kh, kw, in, out]`, depthwise `[kh, kw, in, mult]`,
 * depthwise output channel `c * mult + k` comes from input channel `c`.
 *
 * The kernel functions call ordinary tf ops: while a kernel runs the engine has `kernelDepth > 0`,
 * so nothing is recorded on the gradient tape, and `tf.tidy` frees the intermediates. Returning a
 * `tf.Tensor` from a kernel is allowed (the engine passes tensors with a rank through unchanged).
 */

const BACKEND = 'wasm';

/** Wraps a kernel input (a TensorInfo at the type level) in a tensor that the tidy will release. */
function asTensor<R extends tf.Rank>(info: TensorInfo | undefined, name: string): tf.Tensor<R> {
  if (info === undefined) throw new Error(`wasm grad kernel: missing input '${name}'.`);
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

function assertDilationOne(kernel: string, dilations: unknown): void {
  const d = dilations == null ? [1, 1] : Array.isArray(dilations) ? dilations : [dilations, dilations];
  if (d.some((v) => v !== 1)) {
    throw new Error(
      `${kernel} on wasm (PruneLab kernel): dilations ${JSON.stringify(dilations)} are not supported.`,
    );
  }
}

function assertNhwc(kernel: string, dataFormat: unknown): void {
  if (dataFormat != null && dataFormat !== 'NHWC') {
    throw new Error(
      `${kernel} on wasm (PruneLab kernel): data format ${JSON.stringify(dataFormat)} is not supported.`,
    );
  }
}

/**
 * Adds `top` rows and `left` columns of zeros in front of an NHWC tensor (removes them when
 * negative), then pads or cuts the end so the result is exactly `height` x `width`.
 */
function padOrCrop(t: tf.Tensor4D, top: number, left: number, height: number, width: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const padTop = Math.max(0, top);
  const padLeft = Math.max(0, left);
  const padBottom = Math.max(0, height - (h - cropTop + padTop));
  const padRight = Math.max(0, width - (w - cropLeft + padLeft));
  let out = t;
  if (cropTop > 0 || cropLeft > 0)
    out = tf.slice(out, [0, cropTop, cropLeft, 0], [n, h - cropTop, w - cropLeft, c]);
  if (padTop + padBottom + padLeft + padRight > 0) {
    out = tf.pad(out, [
      [0, 0],
      [padTop, padBottom],
      [padLeft, padRight],
      [0, 0],
    ]);
  }
  if (out.shape[1] !== height || out.shape[2] !== width)
    out = tf.slice(out, [0, 0, 0, 0], [n, height, width, c]);
  return out;
}

/** Pads/crops x so that a 'valid' window pass of the forward conv covers it exactly: `(out-1)*stride + k`. */
function padForWindows(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight: ho,
    outWidth: wo,
  } = info;
  return padOrCrop(x, info.padInfo.top, info.padInfo.left, (ho - 1) * sh + kh, (wo - 1) * sw + kw);
}

/**
 * dW[i, j, ci, co] = sum over n, y, x of xPad[n, sh*y + i, sw*x + j, ci] * dy[n, y, x, co].
 * Read as a convolution with the roles swapped: input channels become the batch, the batch becomes
 * the channels, and dy (as an `[ho, wo, n, out]` filter, dilated by the forward stride) slides over
 * xPad; its `[in, kh, kw, out]` output is dW. One XNNPACK conv: measured 6-10x faster than
 * im2col + matMul on wasm, and 100x+ faster than the cpu backend's own kernel.
 */
function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const xByChannel = tf.transpose(padForWindows(x, info), [3, 1, 2, 0]); // [in, hPad, wPad, n]
  const dyAsFilter = tf.transpose(dy, [1, 2, 0, 3]); // [ho, wo, n, out]
  const dilations: [number, number] = [info.strideHeight, info.strideWidth];
  const dW = tf.conv2d(xByChannel, dyAsFilter, 1, 'valid', 'NHWC', dilations); // [in, kh, kw, out]
  return tf.transpose(dW, [1, 2, 0, 3]);
}

const conv2dBackpropFilterKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertNhwc('Conv2DBackpropFilter', dataFormat);
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(inputs.x, 'x');
    const dy = asTensor<tf.Rank.R4>(inputs.dy, 'dy');
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    return conv2dBackpropFilter(x, dy, info);
  });
};

/**
 * Depthwise: dW[i, j, c, k] = sum over n, y, x of xPad[n, sh*y + i, sw*x + j, c] * dy[n, y, x, c*mult + k].
 * The same role swap as above, as a depthwise conv: fold the batch into the channels
 * (`[1, hPad, wPad, n*c]`: image `b`, channel `c` sits at channel `b*C + c`), use dy as an
 * `[ho, wo, n*C, mult]` depthwise filter (its channel `(b*C + c)*mult + k` lines up), then sum over `b`. Measured 3-30x faster
 * than im2col + batched matMul on wasm.
 */
function depthwiseBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const n = x.shape[0];
  const mult = info.outChannels / c;
  const xPad = padForWindows(x, info);
  const xFlat = tf.reshape<tf.Rank.R4>(tf.transpose(xPad, [1, 2, 0, 3]), [
    1,
    xPad.shape[1],
    xPad.shape[2],
    n * c,
  ]);
  const dyFilter = tf.reshape<tf.Rank.R4>(tf.transpose(dy, [1, 2, 0, 3]), [ho, wo, n * c, mult]);
  const dilations: [number, number] = [info.strideHeight, info.strideWidth];
  const out = tf.depthwiseConv2d(xFlat, dyFilter, 1, 'valid', 'NHWC', dilations); // [1, kh, kw, n*c*mult]
  return tf.sum(out.reshape([kh, kw, n, c, mult]), 2).reshape([kh, kw, c, mult]);
}

const depthwiseBackpropFilterKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, pad, dilations, dimRoundingMode, filterShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  assertDilationOne('DepthwiseConv2dNativeBackpropFilter', dilations);
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(inputs.x, 'x');
    const dy = asTensor<tf.Rank.R4>(inputs.dy, 'dy');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      true,
    );
    return depthwiseBackpropFilter(x, dy, info);
  });
};

/** Inserts `stride - 1` zeros after every pixel of an NHWC tensor (two 4-D pads; wasm's 6-D pad is slow). */
function spreadByStride(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  let out = t;
  if (sw > 1) {
    out = tf.pad(tf.reshape<tf.Rank.R4>(out, [n * h, w, 1, c]), [
      [0, 0],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]);
  }
  if (sh > 1) {
    out = tf.pad(tf.reshape<tf.Rank.R4>(out, [n, h, 1, w * sw * c]), [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
    ]);
  }
  return out.reshape([n, h * sh, w * sw, c]);
}

/**
 * Depthwise input gradient as a full correlation: spread dy by the stride (zeros between pixels),
 * pad it by `k - 1 - padBefore`, and run a stride-1 'valid' depthwise conv with the filter flipped in
 * both spatial axes, treating each of the `c*mult` output channels as its own channel (multiplier 1);
 * then sum the `mult` channels that came from each input channel.
 */
function depthwiseBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, filterHeight: kh, filterWidth: kw } = info;
  const mult = info.outChannels / c;
  const flipped = tf.reshape<tf.Rank.R4>(tf.reverse(filter, [0, 1]), [kh, kw, c * mult, 1]);
  const spread = spreadByStride(dy, info.strideHeight, info.strideWidth);
  const padded = padOrCrop(
    spread,
    kh - 1 - info.padInfo.top,
    kw - 1 - info.padInfo.left,
    h + kh - 1,
    w + kw - 1,
  );
  const full = tf.depthwiseConv2d(padded, flipped, 1, 'valid'); // [n, h, w, c*mult]
  return mult === 1 ? full : tf.sum(full.reshape([n, h, w, c, mult]), 4);
}

const depthwiseBackpropInputKernel: KernelFunc = ({ inputs, attrs }) => {
  const { strides, pad, dilations, dimRoundingMode, inputShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  assertDilationOne('DepthwiseConv2dNativeBackpropInput', dilations);
  return tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(inputs.dy, 'dy');
    const filter = asTensor<tf.Rank.R4>(inputs.filter, 'filter');
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
      true,
    );
    return depthwiseBackpropInput(dy, filter, info);
  });
};

const KERNELS: ReadonlyArray<[string, KernelFunc]> = [
  ['Conv2DBackpropFilter', conv2dBackpropFilterKernel],
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilterKernel],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInputKernel],
];

/** Registers the missing wasm gradient kernels; idempotent, and returns the names it registered this call. */
export function registerWasmGradKernels(): string[] {
  const added: string[] = [];
  for (const [kernelName, kernelFunc] of KERNELS) {
    if (tf.getKernel(kernelName, BACKEND) !== undefined) continue;
    const config: KernelConfig = { kernelName, backendName: BACKEND, kernelFunc };
    tf.registerKernel(config);
    added.push(kernelName);
  }
  return added;
}
