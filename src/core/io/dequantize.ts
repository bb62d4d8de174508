import type { WeightTensor } from '../ir/artifacts';
import type { ManifestWeightEntry } from '../ir/keras-json';
import { ModelLoadError } from './errors';

/**
 * Decoding of TF.js weights-manifest entries (tfjs-core `io_utils.ts` `decodeWeight`).
 *
 * A manifest entry `{name, shape, dtype, quantization?}` names the *original* dtype in `dtype`; when
 * `quantization` is present the shard holds `quantization.dtype` values instead:
 *   uint8 / uint16: value = q * scale + min (rounded for int32 weights), 1 or 2 bytes each;
 *   float16:        IEEE 754 half precision, 2 bytes each, float32 weights only.
 * All multi-byte values are little-endian, as tfjs writes them, and a weight may start at any byte
 * offset (a uint8 weight of odd length shifts everything after it): halves and uint16 are read through
 * a DataView, float32/int32 are copied to a fresh (aligned) buffer.
 */

/** The dtype as stored in the shard bytes. */
export type StoredDtype = 'float32' | 'int32' | 'uint8' | 'uint16' | 'float16';

const STORED_BYTES: Record<StoredDtype, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/** What an entry decodes to and how it is stored; throws UNSUPPORTED_DTYPE / BAD_TOPOLOGY naming the weight. */
export function describeStorage(
  entry: ManifestWeightEntry,
  where: { file?: string } = {},
): {
  dtype: WeightTensor['dtype'];
  stored: StoredDtype;
  bytesPerElement: number;
} {
  const dtype = entry.dtype;
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new ModelLoadError(
      'UNSUPPORTED_DTYPE',
      `Weight '${entry.name}' has dtype ${quote(dtype)}; only 'float32' and 'int32' weights are supported.`,
      where,
    );
  }
  const q = entry.quantization;
  if (q === undefined || q === null) return { dtype, stored: dtype, bytesPerElement: 4 };
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    for (const key of ['scale', 'min'] as const) {
      if (typeof q[key] !== 'number' || !Number.isFinite(q[key])) {
        throw new ModelLoadError(
          'BAD_TOPOLOGY',
          `Weight '${entry.name}' is quantized to ${q.dtype} but its quantization '${key}' is ${quote(q[key])}, not a finite number.`,
          where,
        );
      }
    }
    return { dtype, stored: q.dtype, bytesPerElement: STORED_BYTES[q.dtype] };
  }
  if (q.dtype === 'float16') {
    if (dtype !== 'float32') {
      throw new ModelLoadError(
        'UNSUPPORTED_DTYPE',
        `Weight '${entry.name}' is quantized to float16, which only float32 weights can be, but its dtype is '${dtype}'.`,
        where,
      );
    }
    return { dtype, stored: 'float16', bytesPerElement: 2 };
  }
  throw new ModelLoadError(
    'UNSUPPORTED_DTYPE',
    `Weight '${entry.name}' has quantization dtype ${quote(q.dtype)}; supported are 'uint8', 'uint16' and 'float16'.`,
    where,
  );
}

/** Number of elements of a shape (1 for a scalar `[]`). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Bytes the entry occupies in its group's concatenated shards. */
export function weightByteLength(entry: ManifestWeightEntry, where: { file?: string } = {}): number {
  return elementCount(entry.shape) * describeStorage(entry, where).bytesPerElement;
}

/** Decodes one IEEE 754 half (16-bit pattern) to a number: subnormals, ±0, ±Infinity and NaN included. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal (or zero): 0.m * 2^-14
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25); // 1.m * 2^(e-15)
}

/** Decodes `count` little-endian halves starting at `bytes[0]` (any alignment) into float32. */
export function decodeFloat16(bytes: Uint8Array, count = Math.floor(bytes.byteLength / 2)): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  return out;
}

/**
 * Decodes one manifest entry from exactly its bytes (`weightByteLength(entry)` of them) to a dequantized
 * float32/int32 weight, e.g. `{dtype: 'float32', quantization: {dtype: 'uint8', scale: 0.5, min: -1}}`
 * with bytes `[0, 4]` gives `[-1, 1]`.
 */
export function decodeWeight(entry: ManifestWeightEntry, bytes: Uint8Array): WeightTensor {
  const { dtype, stored, bytesPerElement } = describeStorage(entry);
  const count = elementCount(entry.shape);
  if (bytes.byteLength !== count * bytesPerElement) {
    throw new Error(
      `decodeWeight: '${entry.name}' needs ${count * bytesPerElement} bytes, got ${bytes.byteLength}.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = [...entry.shape];
  const name = entry.name;
  switch (stored) {
    // A copy (bit-exact, NaN payloads included, and aligned whatever the shard offset) read in the
    // platform's byte order, which is little-endian wherever tfjs runs.
    case 'float32':
      return { name, shape, dtype, values: new Float32Array(new Uint8Array(bytes).buffer) };
    case 'int32':
      return { name, shape, dtype, values: new Int32Array(new Uint8Array(bytes).buffer) };
    case 'float16':
      return { name, shape, dtype, values: decodeFloat16(bytes, count) };
    case 'uint8':
    case 'uint16': {
      // describeStorage checked both are finite numbers.
      const scale = entry.quantization?.scale ?? 1;
      const min = entry.quantization?.min ?? 0;
      const read =
        stored === 'uint8' ? (i: number) => view.getUint8(i) : (i: number) => view.getUint16(2 * i, true);
      if (dtype === 'int32') {
        const values = new Int32Array(count);
        for (let i = 0; i < count; i++) values[i] = Math.round(read(i) * scale + min);
        return { name, shape, dtype, values };
      }
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = read(i) * scale + min;
      return { name, shape, dtype, values };
    }
  }
}

/** Quotes a value from the file for an error message: strings in single quotes, the rest as JSON, cut at 80 characters. */
export function quote(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = `'${value}'`;
  else if (value === undefined) return 'missing';
  else {
    try {
      text = JSON.stringify(value) ?? typeof value; // undefined for functions and symbols
    } catch {
      text = typeof value; // a BigInt or a cycle; neither comes out of JSON.parse
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
