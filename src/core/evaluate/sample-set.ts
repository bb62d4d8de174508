import * as tf from '@tensorflow/tfjs';

/**
 * The bundled sample-set binary format (`.plss`), all integers little-endian:
 *
 * | bytes | content                                             |
 * |-------|-----------------------------------------------------|
 * | 0-3   | ASCII magic `PLSS`                                  |
 * | 4-7   | u32 version, = 1                                    |
 * | 8-11  | u32 count (number of samples)                       |
 * | 12-15 | u32 height                                          |
 * | 16-19 | u32 width                                           |
 * | 20-23 | u32 channels                                        |
 * | 24-27 | u32 numClasses (0 allowed only without labels)      |
 * | 28-31 | u32 flags: bit 0 = has labels; other bits must be 0 |
 * | 32-   | count*height*width*channels u8 pixels, sample-major, each sample `[h, w, c]` row-major (NHWC); value = byte / 255 |
 * | then  | if labelled: count u8 labels, each < numClasses     |
 *
 * Nothing may follow. Example: 2,000 labelled 28x28x1 MNIST digits are 32 + 1,568,000 + 2,000 bytes.
 */
export interface SampleSet {
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** `count * height * width * channels` bytes, NHWC; pixel value = byte / 255. */
  pixels: Uint8Array;
  /** One class index per sample, or null for an unlabelled set. */
  labels: Uint8Array | null;
}

export const SAMPLE_SET_MAGIC = 'PLSS';
export const SAMPLE_SET_VERSION = 1;
export const SAMPLE_SET_HEADER_BYTES = 32;
const FLAG_HAS_LABELS = 1;

/** Error thrown by `parseSampleSet`; the message names the file and the bad value. */
export class SampleSetError extends Error {
  constructor(
    readonly code: 'BAD_MAGIC' | 'BAD_VERSION' | 'BAD_HEADER' | 'TRUNCATED' | 'TRAILING_BYTES' | 'BAD_LABEL',
    message: string,
  ) {
    super(message);
    this.name = 'SampleSetError';
  }
}

/** Bytes in one sample's pixels. */
export function sampleSize(set: Pick<SampleSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}

/** Checks a set's invariants (array lengths, labels < numClasses); throws a plain Error naming the problem. */
function assertConsistent(set: SampleSet): void {
  for (const key of ['count', 'height', 'width', 'channels', 'numClasses'] as const) {
    const v = set[key];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new Error(`Sample set ${key} must be a u32, got ${v}.`);
  }
  if (set.pixels.length !== set.count * sampleSize(set)) {
    throw new Error(
      `Sample set has ${set.pixels.length} pixel bytes, expected count*h*w*c = ${set.count * sampleSize(set)}.`,
    );
  }
  if (set.labels !== null) {
    if (set.labels.length !== set.count)
      throw new Error(`Sample set has ${set.labels.length} labels for ${set.count} samples.`);
    const bad = set.labels.findIndex((l) => l >= set.numClasses);
    if (bad >= 0)
      throw new Error(`Sample ${bad} has label ${set.labels[bad]}, but numClasses is ${set.numClasses}.`);
  }
}

/** Serialises a sample set to the `.plss` bytes described above. */
export function encodeSampleSet(set: SampleSet): Uint8Array {
  assertConsistent(set);
  const labelled = set.labels !== null;
  const out = new Uint8Array(SAMPLE_SET_HEADER_BYTES + set.pixels.length + (labelled ? set.count : 0));
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = SAMPLE_SET_MAGIC.charCodeAt(i);
  const fields = [SAMPLE_SET_VERSION, set.count, set.height, set.width, set.channels, set.numClasses];
  fields.forEach((v, i) => view.setUint32(4 + 4 * i, v, true));
  view.setUint32(28, labelled ? FLAG_HAS_LABELS : 0, true);
  out.set(set.pixels, SAMPLE_SET_HEADER_BYTES);
  if (set.labels !== null) out.set(set.labels, SAMPLE_SET_HEADER_BYTES + set.pixels.length);
  return out;
}

/** Parses `.plss` bytes; every error is a `SampleSetError` that names `fileName`. The result copies nothing it need not. */
export function parseSampleSet(bytes: Uint8Array, fileName: string): SampleSet {
  const where = `Sample set '${fileName}'`;
  if (
    bytes.length < 4 ||
    String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) !== SAMPLE_SET_MAGIC
  ) {
    const got = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new SampleSetError(
      'BAD_MAGIC',
      `${where} is not a PruneLab sample set: expected magic "PLSS", got bytes [${got}].`,
    );
  }
  if (bytes.length < SAMPLE_SET_HEADER_BYTES) {
    throw new SampleSetError(
      'TRUNCATED',
      `${where} is truncated: ${bytes.length} bytes, shorter than the ${SAMPLE_SET_HEADER_BYTES}-byte header.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (offset: number): number => view.getUint32(offset, true);
  const version = u32(4);
  if (version !== SAMPLE_SET_VERSION) {
    throw new SampleSetError(
      'BAD_VERSION',
      `${where} has version ${version}; this PruneLab reads version ${SAMPLE_SET_VERSION}.`,
    );
  }
  const [count, height, width, channels, numClasses, flags] = [
    u32(8),
    u32(12),
    u32(16),
    u32(20),
    u32(24),
    u32(28),
  ];
  if ((flags & ~FLAG_HAS_LABELS) !== 0) {
    throw new SampleSetError('BAD_HEADER', `${where} has unknown flags 0x${flags.toString(16)}.`);
  }
  const labelled = (flags & FLAG_HAS_LABELS) !== 0;
  if (height === 0 || width === 0 || channels === 0) {
    throw new SampleSetError(
      'BAD_HEADER',
      `${where} has an empty sample shape ${height}x${width}x${channels}.`,
    );
  }
  if (labelled && (numClasses === 0 || numClasses > 256)) {
    throw new SampleSetError(
      'BAD_HEADER',
      `${where} is labelled but numClasses is ${numClasses} (must be 1..256).`,
    );
  }
  const pixelBytes = count * height * width * channels;
  const expected = SAMPLE_SET_HEADER_BYTES + pixelBytes + (labelled ? count : 0);
  if (bytes.length < expected) {
    throw new SampleSetError(
      'TRUNCATED',
      `${where} is truncated: ${bytes.length} bytes, but its header (${count} samples of ${height}x${width}x${channels}` +
        `${labelled ? ', labelled' : ''}) needs ${expected}.`,
    );
  }
  if (bytes.length > expected) {
    throw new SampleSetError(
      'TRAILING_BYTES',
      `${where} has ${bytes.length - expected} unexpected bytes after its data.`,
    );
  }
  const pixels = bytes.subarray(SAMPLE_SET_HEADER_BYTES, SAMPLE_SET_HEADER_BYTES + pixelBytes);
  const labels = labelled ? bytes.subarray(SAMPLE_SET_HEADER_BYTES + pixelBytes, expected) : null;
  if (labels !== null) {
    const bad = labels.findIndex((l) => l >= numClasses);
    if (bad >= 0) {
      throw new SampleSetError(
        'BAD_LABEL',
        `${where}: sample ${bad} has label ${labels[bad]}, but numClasses is ${numClasses} (labels must be < ${numClasses}).`,
      );
    }
  }
  return { count, height, width, channels, numClasses, pixels, labels };
}

/** Samples `[start, end)` as an `[n, h, w, c]` float32 tensor in [0, 1]; the caller disposes it. */
export function sampleBatch(set: SampleSet, start: number, end: number): tf.Tensor4D {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > set.count) {
    throw new RangeError(`sampleBatch: range [${start}, ${end}) is not inside [0, ${set.count}).`);
  }
  const [from, to] = [start, end];
  const per = sampleSize(set);
  const bytes = set.pixels.subarray(from * per, to * per);
  const values = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) values[i] = bytes[i]! / 255;
  return tf.tensor4d(values, [to - from, set.height, set.width, set.channels], 'float32');
}
