import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ManifestWeightEntry } from '../ir/keras-json';
import { decodeFloat16, decodeWeight, describeStorage, halfToFloat, weightByteLength } from './dequantize';
import { isModelLoadError } from './errors';

/** Independent oracle: rebuild the float32 bit pattern from the half's fields, then read it back. */
function referenceHalf(h: number): number {
  const sign = (h >>> 15) & 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  let bits: number;
  if (exp === 0x1f) bits = (sign << 31) | (0xff << 23) | (mant << 13);
  else if (exp !== 0) bits = (sign << 31) | ((exp - 15 + 127) << 23) | (mant << 13);
  else if (mant === 0) bits = sign << 31;
  else {
    // Subnormal: normalise 0.mant * 2^-14 to 1.m * 2^(-14 - shift).
    let m = mant;
    let shift = 0;
    while ((m & 0x400) === 0) {
      m <<= 1;
      shift++;
    }
    bits = (sign << 31) | ((127 - 14 - shift) << 23) | ((m & 0x3ff) << 13);
  }
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits >>> 0);
  return view.getFloat32(0);
}

function le16(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function entry(over: Partial<ManifestWeightEntry>): ManifestWeightEntry {
  return { name: 'conv/kernel', shape: [4], dtype: 'float32', ...over };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isModelLoadError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return undefined;
}

describe('halfToFloat', () => {
  it('decodes the landmark halves', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504); // largest normal
    expect(halfToFloat(0x0400)).toBe(2 ** -14); // smallest normal
    expect(halfToFloat(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(halfToFloat(0x3555)).toBe(0.333251953125);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0xfc01)).toBeNaN();
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(Object.is(halfToFloat(0x0000), 0)).toBe(true);
  });

  it('matches the bit-level reference on all 65536 halves', () => {
    for (let h = 0; h < 0x10000; h++) {
      const got = Math.fround(halfToFloat(h));
      if (!Object.is(got, referenceHalf(h))) expect([h, got]).toEqual([h, referenceHalf(h)]);
      // Every half is exactly representable in float32: fround must not change it.
      if (!Object.is(got, halfToFloat(h))) expect([h, got]).toEqual([h, halfToFloat(h)]);
    }
  });

  it('decodeFloat16 reads little-endian halves at any alignment (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 64 }),
        (pad, halves) => {
          const buf = new Uint8Array(pad + halves.length * 2);
          buf.set(le16(halves), pad);
          const got = decodeFloat16(buf.subarray(pad));
          expect(got.length).toBe(halves.length);
          halves.forEach((h, i) => expect(Object.is(got[i], referenceHalf(h))).toBe(true));
        },
      ),
    );
  });
});

describe('decodeWeight', () => {
  it('decodes plain float32 and int32 little-endian from an unaligned offset', () => {
    const buf = new Uint8Array(1 + 12);
    const view = new DataView(buf.buffer);
    [1.5, -2.25, 3e-8].forEach((v, i) => view.setFloat32(1 + 4 * i, v, true));
    const f = decodeWeight(entry({ shape: [3] }), buf.subarray(1));
    expect(f.values).toBeInstanceOf(Float32Array);
    expect(Array.from(f.values)).toEqual([1.5, -2.25, Math.fround(3e-8)]);
    [7, -1, 2 ** 31 - 1].forEach((v, i) => view.setInt32(1 + 4 * i, v, true));
    const n = decodeWeight(entry({ shape: [3], dtype: 'int32' }), buf.subarray(1));
    expect(n).toEqual({
      name: 'conv/kernel',
      shape: [3],
      dtype: 'int32',
      values: new Int32Array([7, -1, 2 ** 31 - 1]),
    });
  });

  it('dequantizes uint8 as q * scale + min', () => {
    // Hand-computed: 0*0.5-1 = -1, 1*0.5-1 = -0.5, 2*0.5-1 = 0, 255*0.5-1 = 126.5.
    const w = decodeWeight(
      entry({ quantization: { dtype: 'uint8', scale: 0.5, min: -1 } }),
      Uint8Array.of(0, 1, 2, 255),
    );
    expect(Array.from(w.values)).toEqual([-1, -0.5, 0, 126.5]);
    expect(w.dtype).toBe('float32');
  });

  it('dequantizes uint16 (little-endian) as q * scale + min', () => {
    const q = { dtype: 'uint16', scale: 0.001, min: -2 };
    const w = decodeWeight(entry({ shape: [2, 2], quantization: q }), le16([0, 1000, 2500, 65535]));
    // -2, -2 + 1 = -1, -2 + 2.5 = 0.5, -2 + 65.535 = 63.535 (to float32 precision).
    expect(Array.from(w.values)).toEqual([-2, -1, 0.5, Math.fround(63.535)]);
    expect(w.shape).toEqual([2, 2]);
  });

  it('recovers known values within half a quantization step', () => {
    const original = [-0.73, -0.2, 0, 0.051, 0.4, 0.999];
    const min = -0.73;
    for (const [dtype, levels] of [
      ['uint8', 255],
      ['uint16', 65535],
    ] as const) {
      const scale = (0.999 - min) / levels;
      const q = original.map((x) => Math.round((x - min) / scale));
      const bytes = dtype === 'uint8' ? Uint8Array.from(q) : le16(q);
      const w = decodeWeight(entry({ shape: [6], quantization: { dtype, scale, min } }), bytes);
      w.values.forEach((v, i) => expect(Math.abs(v - original[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-7));
    }
  });

  it('decodes float16 quantization within half precision', () => {
    const w = decodeWeight(
      entry({ quantization: { dtype: 'float16' } }),
      le16([0x3c00, 0x3555, 0xbc00, 0x0001]),
    );
    expect(Array.from(w.values)).toEqual([1, 0.333251953125, -1, 2 ** -24]);
    expect(Math.abs(w.values[1]! - 1 / 3)).toBeLessThan(2 ** -11 / 3);
  });

  it('rounds uint8-quantized int32 weights, as tfjs does', () => {
    const w = decodeWeight(
      entry({ shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.4, min: 1 } }),
      Uint8Array.of(0, 1, 5),
    );
    expect(w.values).toEqual(new Int32Array([1, 1, 3])); // 1, 1.4 -> 1, 3
  });

  it('sizes entries by their stored dtype', () => {
    expect(weightByteLength(entry({ shape: [3, 3, 1, 16] }))).toBe(576);
    expect(weightByteLength(entry({ shape: [10], quantization: { dtype: 'uint8', scale: 1, min: 0 } }))).toBe(
      10,
    );
    expect(weightByteLength(entry({ shape: [10], quantization: { dtype: 'float16' } }))).toBe(20);
    expect(weightByteLength(entry({ shape: [] }))).toBe(4); // a scalar
  });

  it('rejects unsupported dtypes naming the weight and quoting the value', () => {
    expect(codeOf(() => describeStorage(entry({ dtype: 'string' })))).toBe(
      "UNSUPPORTED_DTYPE: Weight 'conv/kernel' has dtype 'string'; only 'float32' and 'int32' weights are supported.",
    );
    expect(codeOf(() => describeStorage(entry({ quantization: { dtype: 'int4' } })))).toMatch(
      /^UNSUPPORTED_DTYPE: Weight 'conv\/kernel' has quantization dtype 'int4'/,
    );
    expect(
      codeOf(() => describeStorage(entry({ dtype: 'int32', quantization: { dtype: 'float16' } }))),
    ).toMatch(/^UNSUPPORTED_DTYPE: Weight 'conv\/kernel' is quantized to float16.*'int32'/);
    expect(codeOf(() => describeStorage(entry({ quantization: { dtype: 'uint8', min: 0 } })))).toMatch(
      /^BAD_TOPOLOGY: Weight 'conv\/kernel' is quantized to uint8 but its quantization 'scale' is missing/,
    );
  });
});

describe('decodeWeight on a Node Buffer', () => {
  it('reads its own bytes, not the shared pool behind it (Buffer.slice shares memory)', () => {
    // Node's Buffer, where the CLI reads files (a global there; core itself never imports Node).
    const { Buffer } = globalThis as unknown as { Buffer: { from(a: Uint8Array): Uint8Array } };
    const values = Float32Array.from([1.5, -2, 3.25]);
    // A small Buffer lives inside Node's 8 KB pool, at an offset.
    const pooled = Buffer.from(new Uint8Array(values.buffer));
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    const w = decodeWeight({ name: 'k', shape: [3], dtype: 'float32' }, pooled);
    expect(Array.from(w.values)).toEqual([1.5, -2, 3.25]);
  });
});
