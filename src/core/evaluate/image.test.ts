import { describe, expect, it } from 'vitest';
import {
  bmpHeaderOnly,
  gifHeaderOnly,
  jpegHeaderOnly,
  pngHeaderOnly,
  pngImage,
  webpHeaderOnly,
} from '../../../test/bad-files/generate';
import { isModelLoadError } from '../io/errors';
import { checkImageSize, readImageSize } from './image';

describe('readImageSize', () => {
  it('reads every format header without decoding', () => {
    expect(readImageSize(pngImage(5, 3))).toEqual({ width: 5, height: 3 });
    expect(readImageSize(pngHeaderOnly(30_000, 20_000))).toEqual({ width: 30_000, height: 20_000 });
    expect(readImageSize(jpegHeaderOnly(640, 480))).toEqual({ width: 640, height: 480 });
    expect(readImageSize(gifHeaderOnly(7, 9))).toEqual({ width: 7, height: 9 });
    expect(readImageSize(bmpHeaderOnly(40, -30))).toEqual({ width: 40, height: 30 });
    expect(readImageSize(webpHeaderOnly(20_000, 10))).toEqual({ width: 20_000, height: 10 });
    expect(readImageSize(pngImage(5, 3).subarray(0, 20))).toBeNull();
    expect(readImageSize(new TextEncoder().encode('not an image'))).toBeNull();
  });
});

describe('checkImageSize', () => {
  const refusal = (bytes: Uint8Array): string => {
    try {
      checkImageSize(bytes, 'x.png');
    } catch (e) {
      if (isModelLoadError(e) && e.code === 'LIMIT_EXCEEDED' && e.file === 'x.png') return e.message;
      throw e;
    }
    throw new Error('expected LIMIT_EXCEEDED');
  };

  it('refuses over the side and the pixel limits, naming both', () => {
    expect(refusal(pngHeaderOnly(30_000, 30_000))).toBe(
      "image 'x.png' is 30000x30000, over the 16384x16384 limit.",
    );
    expect(refusal(jpegHeaderOnly(10_000, 10_000))).toBe(
      "image 'x.png' is 10000x10000 (100.0 megapixels), over the 50 megapixel limit.",
    );
    expect(() => checkImageSize(pngHeaderOnly(16_384, 3_000), 'x.png')).not.toThrow();
  });
});
