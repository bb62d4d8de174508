import type { KerasModelTopology } from './keras-json';

/**
 * A decoded weight: always dequantized, values in row-major order of `shape`.
 * Layouts (tfjs-layers convolutional.ts / core.ts): Conv2D kernel `[kh, kw, in, out]`,
 * DepthwiseConv2D `[kh, kw, in, multiplier]`, Conv2DTranspose `[kh, kw, out, in]`, Dense `[in, out]`.
 */
export interface WeightTensor {
  /** Manifest name, e.g. `conv2d_1/kernel`. */
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values: Float32Array | Int32Array;
}

/**
 * The unit every stage passes along: a model's topology plus its decoded weights, in manifest order.
 * Pure data (no tfjs objects), so it can cross a worker boundary and be written by any exporter.
 * Treat as immutable: functions return new artifacts and never write into these arrays.
 */
export interface ModelArtifactsData {
  modelTopology: KerasModelTopology;
  weights: WeightTensor[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: Record<string, unknown>;
}

/** A file as the user gave it: `path` is relative (a dropped folder keeps its sub-path), `bytes` its content. */
export interface InputFile {
  path: string;
  bytes: Uint8Array;
}

/** A file to write or download. */
export interface OutputFile {
  path: string;
  bytes: Uint8Array;
}
