/**
 * Checks on a weight's declaration, made before its values are allocated or read, shared by every
 * format (TF.js manifests, Keras .h5, .keras): the declared shape against `MAX_TENSOR_BYTES`, the running
 * total against `MAX_MODEL_WEIGHT_BYTES`, and the dtype against what the weight's role can hold.
 */
import { ModelLoadError } from './errors';
import { formatBytes, formatLimit, MAX_MODEL_WEIGHT_BYTES, MAX_TENSOR_BYTES } from './limits';

/** `[100000, 100000]` -> `100000x100000`, a scalar `[]` -> `scalar`; long shapes cut after 8 dimensions. */
export function describeShape(shape: readonly number[]): string {
  if (shape.length === 0) return 'scalar';
  const dims = shape.slice(0, 8).map(String);
  if (shape.length > 8) dims.push(`... (${shape.length} dimensions)`);
  return dims.join('x');
}

/**
 * Bytes a declared tensor takes once decoded (`bytesPerValue` each), refused over `MAX_TENSOR_BYTES`
 * before anything is allocated, e.g. "dataset 'layers/dense/vars/0' declares 100000x100000 float32
 * (40 GB), over the 1 GiB limit for one tensor". `what` names the weight with its kind (`weight 'x'`).
 */
export function checkTensorDeclaration(
  what: string,
  shape: readonly number[],
  dtype: string,
  bytesPerValue: number,
  where: { file?: string; layer?: string } = {},
): number {
  const count = shape.reduce((n, d) => n * d, 1);
  const bytes = count * bytesPerValue;
  if (!Number.isFinite(bytes) || bytes > MAX_TENSOR_BYTES) {
    throw new ModelLoadError(
      'LIMIT_EXCEEDED',
      `${what} declares ${describeShape(shape)} ${dtype} (${formatBytes(bytes)}), over the ` +
        `${formatLimit(MAX_TENSOR_BYTES)} limit for one tensor.`,
      where,
    );
  }
  return bytes;
}

/** A running total of decoded weight bytes for one model, refused over `MAX_MODEL_WEIGHT_BYTES`. */
export class WeightBudget {
  private used = 0;

  /** Adds a tensor's decoded bytes; throws LIMIT_EXCEEDED naming the tensor that goes over. */
  add(what: string, bytes: number, where: { file?: string; layer?: string } = {}): void {
    this.used += bytes;
    if (this.used > MAX_MODEL_WEIGHT_BYTES) {
      throw new ModelLoadError(
        'LIMIT_EXCEEDED',
        `The weights up to ${what} add up to ${formatBytes(this.used)}, over the ` +
          `${formatLimit(MAX_MODEL_WEIGHT_BYTES)} limit for one model.`,
        where,
      );
    }
  }

  get total(): number {
    return this.used;
  }
}

/**
 * Weight roles (the last segment of a weight's name) that hold real numbers in every Keras layer that
 * has them: a kernel declared int32 is a broken file, not a quantized one (quantization is declared
 * separately and decodes to float32).
 */
const FLOAT_ROLES = new Set([
  'kernel',
  'bias',
  'gamma',
  'beta',
  'moving_mean',
  'moving_variance',
  'depthwise_kernel',
  'pointwise_kernel',
  'recurrent_kernel',
  'alpha',
  'embeddings',
]);

/** The role of a weight name: `conv2d/kernel:0` -> `kernel`. */
function roleOf(name: string): string {
  return (name.split('/').pop() ?? '').replace(/:\d+$/, '');
}

/**
 * Throws BAD_WEIGHTS when a weight whose role holds real numbers (kernel, bias, gamma...) is declared
 * or stored as integers, e.g. "Weight 'conv2d/kernel' is declared int32, but a kernel holds real
 * numbers (float32)".
 */
export function checkWeightDtype(
  name: string,
  dtype: string,
  how: 'declared' | 'stored',
  where: { file?: string; layer?: string } = {},
): void {
  const role = roleOf(name);
  if (!FLOAT_ROLES.has(role) || /^float/.test(dtype)) return;
  throw new ModelLoadError(
    'BAD_WEIGHTS',
    `Weight '${name}' is ${how} ${dtype}, but a ${role} holds real numbers (float32): the file is broken ` +
      `or was written for another model.`,
    where,
  );
}
