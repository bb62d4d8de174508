/**
 * Keras / TF.js LayersModel JSON as it appears on disk. snake_case lives only here, at the boundary;
 * everything past `buildModelIR` uses the camelCase IR in `model-ir.ts`.
 */

/** One layer entry of a Keras config: `{class_name, config: {name, ...}, inbound_nodes?}`. */
export interface KerasLayerJSON {
  class_name: string;
  config: KerasLayerConfig;
  name?: string;
  /** Functional models only. Keras 2 / TF.js form: `[[[layerName, nodeIndex, tensorIndex, kwargs], ...]]`. */
  inbound_nodes?: unknown[];
}

/** A layer config: always has a name; the rest depends on the class (`filters`, `kernel_size`, ...). */
export interface KerasLayerConfig {
  name: string;
  [key: string]: unknown;
}

/** `model.json`'s `modelTopology` (or Keras `model_config`). */
export interface KerasModelTopology {
  class_name: string;
  config:
    | {
        name?: string;
        layers: KerasLayerJSON[];
        input_layers?: unknown;
        output_layers?: unknown;
        [key: string]: unknown;
      }
    | KerasLayerJSON[];
  keras_version?: string;
  backend?: string;
  [key: string]: unknown;
}

/** One weight entry of a TF.js weights manifest group. */
export interface ManifestWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

/** A TF.js weights manifest group: the shard files, concatenated in order, hold `weights` in order. */
export interface ManifestGroup {
  paths: string[];
  weights: ManifestWeightEntry[];
}

/** The whole `model.json` of a TF.js LayersModel. */
export interface TfjsModelJSON {
  modelTopology: KerasModelTopology;
  weightsManifest: ManifestGroup[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  userDefinedMetadata?: Record<string, unknown>;
}
