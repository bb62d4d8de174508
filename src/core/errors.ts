/** Why a model could not be opened. Stable codes: tests, the UI and the CLI match on them. */
export type ModelLoadErrorCode =
  | 'NO_FILES'
  | 'UNRECOGNIZED_FORMAT'
  | 'NOT_JSON'
  | 'NOT_LAYERS_MODEL'
  | 'MISSING_SHARD'
  | 'SHARD_SIZE_MISMATCH'
  | 'UNSUPPORTED_DTYPE'
  | 'UNSUPPORTED_LAYER'
  | 'WEIGHT_MISMATCH'
  | 'BAD_TOPOLOGY'
  | 'BAD_ARCHIVE'
  /** An HDF5 file (.h5, or a .keras archive's model.weights.h5) that the HDF5 library cannot read. */
  | 'BAD_HDF5'
  /** An HDF5 file with no `model_config` that is not a weights-only file either. */
  | 'NO_MODEL_CONFIG'
  /** A Keras weights-only file (`model.save_weights`, `.weights.h5`): a full model is needed. */
  | 'WEIGHTS_ONLY'
  /** The config names a layer with weights that the weights file does not have. */
  | 'MISSING_WEIGHTS'
  /** A declared size, count or depth is over a named limit (image dimensions, zip totals, tensor bytes). */
  | 'LIMIT_EXCEEDED'
  /** A path inside a model file (manifest path, zip entry) that leaves the model's folder or archive. */
  | 'PATH_ESCAPE'
  /** A structure that refers back to itself (HDF5 link cycle, layer graph cycle). */
  | 'CYCLE'
  /** A config that tfjs could not build: malformed field, inconsistent names, bad initializer... */
  | 'BAD_CONFIG'
  /** Weights that cannot be right: 0 filters, dtype and bytes disagree, shape vs config mismatch. */
  | 'BAD_WEIGHTS'
  /** tfjs failed to build or run the model although the loader accepted it (named by layer). */
  | 'BUILD_FAILED'
  /** A sample set that cannot be used with this model: empty, labels out of range, wrong input size. */
  | 'BAD_SAMPLES'
  /** A plan file that cannot be read or does not fit the model. */
  | 'BAD_PLAN'
  /** Opening took longer than the time limit and was stopped. */
  | 'TIMEOUT'
  /** The user cancelled opening. */
  | 'CANCELLED';

/**
 * A typed load error that names the file or layer at fault and quotes the bad value, e.g.
 * `new ModelLoadError('MISSING_SHARD', "Weight file 'group1-shard2of3.bin' listed in model.json was not provided.", { file: 'group1-shard2of3.bin' })`.
 */
export class ModelLoadError extends Error {
  readonly code: ModelLoadErrorCode;
  readonly file?: string;
  readonly layer?: string;

  constructor(code: ModelLoadErrorCode, message: string, where: { file?: string; layer?: string } = {}) {
    super(message);
    this.name = 'ModelLoadError';
    this.code = code;
    if (where.file !== undefined) this.file = where.file;
    if (where.layer !== undefined) this.layer = where.layer;
  }
}

/** True for a ModelLoadError (also across realms / worker clones, by shape). */
export function isModelLoadError(e: unknown): e is ModelLoadError {
  return e instanceof ModelLoadError || (e instanceof Error && e.name === 'ModelLoadError' && 'code' in e);
}

/** The error a cancelled long job throws (`name === 'AbortError'`, as `fetch` and `AbortSignal` use). */
export function abortError(message = 'Evaluation was cancelled.'): Error {
  const e = new Error(message);
  e.name = 'AbortError';
  return e;
}
