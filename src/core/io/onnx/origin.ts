/**
 * The record an ONNX import leaves on the artifacts (`userDefinedMetadata.origin`), so that every later
 * stage can find its way back to the user's file: the ONNX op and node behind each layer (for reasons
 * shown to the user), the initializer behind each weight and how its layout was changed (for the ONNX
 * writer), and the layer behind each feature tensor (for value_info shapes). Surgery and fine-tuning
 * keep layer and weight names, so the record stays true for a pruned model.
 *
 * Example: MNIST's first conv gives `layers['conv1'] = {op: 'Conv', node: '/conv1/Conv'}` and
 * `weights['conv1/kernel'] = {tensor: 'onnx::Conv_53', layout: 'oihw'}`.
 */

/** How a Keras weight's layout relates to the ONNX tensor it came from. */
export type OnnxLayout =
  /** Conv `[M, C, kh, kw]` -> Conv2D kernel `[kh, kw, C, M]`. */
  | 'oihw'
  /** Depthwise Conv `[C*m, 1, kh, kw]` -> DepthwiseConv2D kernel `[kh, kw, C, m]`. */
  | 'depthwise'
  /** ConvTranspose `[C, M, kh, kw]` -> Conv2DTranspose kernel `[kh, kw, M, C]`. */
  | 'iohw'
  /** Gemm `B [K, N]` (or MatMul) -> Dense kernel `[K, N]`. */
  | 'gemm'
  /** Gemm `B [N, K]` with `transB = 1` -> Dense kernel `[K, N]` (its transpose). */
  | 'gemm-t'
  /** A per-channel vector (bias, BN scale/shift/mean/var), unchanged. */
  | 'vector';

export interface OnnxWeightLink {
  /** The tensor name the node reads: an initializer, or an Identity of one (a `state_dict` key either way). */
  tensor: string;
  layout: OnnxLayout;
  /** Dense after a Flatten of NCHW `[c, h, w]`: its rows were reordered from `c*h*w + k` to `k*c + c'`. */
  flatten?: { h: number; w: number };
  /** Gemm `alpha` (kernel) or `beta` (bias) folded into the values; written back divided by it. */
  scale?: number;
  /** The original ONNX dims (before pruning). */
  dims: number[];
}

export interface OnnxOrigin {
  format: 'onnx';
  /** The layout the ONNX model reads its input in; the imported model reads NHWC (no transposing by hand). */
  inputLayout: 'NCHW' | 'NC';
  /** The graph's input and output names. */
  input: string;
  outputs: string[];
  /** Layer -> the ONNX node it came from. */
  layers: Record<string, { op: string; node: string }>;
  /** Artifact weight name -> the ONNX tensor it came from. */
  weights: Record<string, OnnxWeightLink>;
  /** ONNX feature tensor -> the layer whose output it is (the output's channels are its axis 1). */
  tensors: Record<string, string>;
}

/** The ONNX record on artifacts, if they came from an ONNX file. */
export function onnxOriginOf(a: { userDefinedMetadata?: Record<string, unknown> }): OnnxOrigin | undefined {
  const o = a.userDefinedMetadata?.['origin'] as Partial<OnnxOrigin> | undefined;
  return o && o.format === 'onnx' && typeof o.weights === 'object' ? (o as OnnxOrigin) : undefined;
}
