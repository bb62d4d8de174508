/**
 * The normalised model IR: one entry per layer, in the topology's order, with its class, config,
 * inbound layer names, the indices of its weights in `ModelArtifactsData.weights`, and its inferred
 * output shape. Built by `buildModelIR` (src/core/ir/build-ir.ts).
 */

/** Output shape with the batch dimension first, `null` where unknown (the batch). Channels-last. */
export type Shape = (number | null)[];

/** A layer's weight: `role` is the manifest name's last segment (`kernel`, `bias`, `gamma`, `moving_mean`...). */
export interface LayerWeightRef {
  role: string;
  /** Index into `ModelArtifactsData.weights`. */
  weightIndex: number;
  shape: number[];
}

export interface LayerIR {
  /** Position in the topology (0-based, file order, nested models' layers in their place); kept unchanged by surgery. */
  index: number;
  /**
   * Unique name. A layer of a nested model (a base model inside a transfer-learning model) is named
   * by its scope: `base/conv1` for layer `conv1` of nested model `base` (see `scope`, `localName`).
   */
  name: string;
  /** Nested layers only: the scoped name of the model that holds it (`base`, or `outer/inner`). */
  scope?: string;
  /** Nested layers only: its own name inside that model (`conv1`). */
  localName?: string;
  className: string;
  /** The layer's Keras config, as in the file (snake_case keys). */
  config: Record<string, unknown>;
  /** Names of the layers feeding this one (Sequential: the previous layer; none for the first). */
  inbound: string[];
  weights: LayerWeightRef[];
  inputShape: Shape;
  outputShape: Shape;
  /** Imported from another format: the op and node it came from (ONNX `Conv` node `/conv1/Conv`), for reasons shown to the user. */
  origin?: { op: string; node: string };
}

/** Where an imported model came from, when not Keras or TF.js (read from `userDefinedMetadata.origin`). */
export interface ModelOrigin {
  format: string;
  /**
   * The layout the source model reads its input in. The IR is channels-last whatever the source
   * (an ONNX `[N, C, H, W]` input becomes `[N, H, W, C]`), so samples are fed as for any model; this
   * says how to feed the source file itself (onnxruntime): `NCHW` means transpose NHWC batches to it.
   */
  inputLayout: 'NHWC' | 'NCHW' | 'NC';
}

export interface ModelIR {
  name: string;
  /** Set for a model imported from another format (ONNX). */
  origin?: ModelOrigin;
  kind: 'sequential' | 'functional';
  layers: LayerIR[];
  /** Names of the layers whose outputs are model outputs. */
  outputs: string[];
  /** Names of the input layers (Sequential: an implicit one named after the first layer's input). */
  inputs: string[];
  inputShape: Shape;
  /** Nested models, flattened into `layers` (scoped names), in file order. */
  submodels?: { name: string; className: string }[];
  /**
   * Places in nested models' configs that spell out an input shape fed from outside (a nested model's
   * InputLayer, or the `batch_input_shape` of a nested Sequential's first layer): `config` is the scoped
   * name of that layer config, `source` the IR layer whose output feeds it. Surgery rewrites their channel count.
   */
  nestedInputs?: { config: string; source: string }[];
}
