import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  encodeSampleSet,
  parseSampleSet,
  sampleBatch,
  SAMPLE_SET_HEADER_BYTES,
  SampleSetError,
  type SampleSet,
} from './sample-set';

function makeSet(labelled: boolean): SampleSet {
  const count = 5;
  const [height, width, channels] = [3, 2, 2];
  const pixels = Uint8Array.from({ length: count * height * width * channels }, (_, i) => (i * 37) % 256);
  return {
    count,
    height,
    width,
    channels,
    numClasses: 4,
    pixels,
    labels: labelled ? Uint8Array.from([0, 3, 1, 2, 3]) : null,
  };
}

/** Expects `fn` to throw a SampleSetError with `code` whose message names the file. */
function expectError(fn: () => unknown, code: SampleSetError['code'], pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SampleSetError);
  expect((caught as SampleSetError).code).toBe(code);
  expect((caught as Error).message).toContain("'digits.plss'");
  expect((caught as Error).message).toMatch(pattern);
}

describe('sample-set format', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('writes the documented header, little-endian', () => {
    const bytes = encodeSampleSet(makeSet(true));
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('PLSS');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([4, 8, 12, 16, 20, 24, 28].map((o) => view.getUint32(o, true))).toEqual([1, 5, 3, 2, 2, 4, 1]);
    expect(bytes.length).toBe(SAMPLE_SET_HEADER_BYTES + 5 * 12 + 5);
    expect(Array.from(bytes.subarray(bytes.length - 5))).toEqual([0, 3, 1, 2, 3]);
  });

  it.each([true, false])('round-trips (labelled: %s)', (labelled) => {
    const set = makeSet(labelled);
    const back = parseSampleSet(encodeSampleSet(set), 'digits.plss');
    expect(back).toEqual(set);
    expect(encodeSampleSet(back)).toEqual(encodeSampleSet(set));
  });

  it('parses from a view into a larger buffer', () => {
    const bytes = encodeSampleSet(makeSet(true));
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 7);
    expect(parseSampleSet(padded.subarray(7, 7 + bytes.length), 'digits.plss')).toEqual(makeSet(true));
  });

  it('rejects a bad magic, naming the file and the bytes', () => {
    const bytes = encodeSampleSet(makeSet(true));
    bytes[0] = 0x89;
    expectError(() => parseSampleSet(bytes, 'digits.plss'), 'BAD_MAGIC', /PLSS.*89 4c 53 53/);
    expectError(() => parseSampleSet(new Uint8Array(0), 'digits.plss'), 'BAD_MAGIC', /\[\]/);
  });

  it('rejects truncated files (header and data)', () => {
    const bytes = encodeSampleSet(makeSet(true));
    expectError(
      () => parseSampleSet(bytes.subarray(0, 20), 'digits.plss'),
      'TRUNCATED',
      /20 bytes.*32-byte header/,
    );
    expectError(
      () => parseSampleSet(bytes.subarray(0, bytes.length - 1), 'digits.plss'),
      'TRUNCATED',
      /needs 97/,
    );
  });

  it('rejects trailing bytes, an unknown version and unknown flags', () => {
    const bytes = encodeSampleSet(makeSet(true));
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expectError(() => parseSampleSet(longer, 'digits.plss'), 'TRAILING_BYTES', /3 unexpected bytes/);
    const v2 = bytes.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    expectError(() => parseSampleSet(v2, 'digits.plss'), 'BAD_VERSION', /version 2/);
    const flags = bytes.slice();
    new DataView(flags.buffer).setUint32(28, 3, true);
    expectError(() => parseSampleSet(flags, 'digits.plss'), 'BAD_HEADER', /flags 0x3/);
  });

  it('rejects a label >= numClasses, naming the sample', () => {
    const bytes = encodeSampleSet(makeSet(true));
    bytes[bytes.length - 2] = 4; // sample 3
    expectError(
      () => parseSampleSet(bytes, 'digits.plss'),
      'BAD_LABEL',
      /sample 3 has label 4.*numClasses is 4/,
    );
    expect(() => encodeSampleSet({ ...makeSet(true), labels: Uint8Array.from([0, 0, 9, 0, 0]) })).toThrow(
      /label 9/,
    );
  });

  it('refuses to encode inconsistent sets', () => {
    expect(() => encodeSampleSet({ ...makeSet(false), count: 6 })).toThrow(/pixel bytes/);
    expect(() => encodeSampleSet({ ...makeSet(true), labels: new Uint8Array(2) })).toThrow(
      /2 labels for 5 samples/,
    );
  });

  it('sampleBatch gives [n, h, w, c] float32 = byte / 255', async () => {
    const set = makeSet(true);
    const before = tf.memory().numTensors;
    const batch = sampleBatch(set, 1, 4);
    expect(batch.shape).toEqual([3, 3, 2, 2]);
    expect(batch.dtype).toBe('float32');
    const values = await batch.data();
    const per = 12;
    for (let i = 0; i < values.length; i++) expect(values[i]).toBeCloseTo(set.pixels[per + i]! / 255, 6);
    batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(sampleBatch(set, 5, 5).shape).toEqual([0, 3, 2, 2]);
    expect(() => sampleBatch(set, 3, 6)).toThrow(RangeError);
  });
});
