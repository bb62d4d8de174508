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
  /** Position in the topology (0-based); kept unchanged by surgery. */
  index: number;
  name: string;
  className: string;
  /** The layer's Keras config, as in the file (snake_case keys). */
  config: Record<string, unknown>;
  /** Names of the layers feeding this one (Sequential: the previous layer; none for the first). */
  inbound: string[];
  weights: LayerWeightRef[];
  inputShape: Shape;
  outputShape: Shape;
}

export interface ModelIR {
  name: string;
  kind: 'sequential' | 'functional';
  layers: LayerIR[];
  /** Names of the layers whose outputs are model outputs. */
  outputs: string[];
  /** Names of the input layers (Sequential: an implicit one named after the first layer's input). */
  inputs: string[];
  inputShape: Shape;
}
