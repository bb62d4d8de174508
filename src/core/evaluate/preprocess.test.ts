import { describe, expect, it } from 'vitest';
import type { DecodedImage } from './image';
import {
  guessPreprocess,
  pixelTransform,
  preprocessImage,
  previewRgba,
  resizeBox,
  resizeToRgb,
  type PreprocessOptions,
} from './preprocess';

/** An RGBA image from `[r, g, b]` pixels, row-major, alpha 255. */
function rgbImage(width: number, height: number, pixels: [number, number, number][]): DecodedImage {
  const data = new Uint8ClampedArray(width * height * 4);
  pixels.forEach(([r, g, b], i) => data.set([r, g, b, 255], i * 4));
  return { width, height, data };
}

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];
const WHITE: [number, number, number] = [255, 255, 255];

const opts = (o: Partial<PreprocessOptions>): PreprocessOptions => ({
  height: 2,
  width: 2,
  channels: 3,
  resize: 'stretch',
  range: '[0,1]',
  ...o,
});

describe('preprocessImage (hand-computed pixels)', () => {
  const img = rgbImage(2, 2, [RED, GREEN, BLUE, WHITE]);

  it('keeps a same-size image exactly', () => {
    expect(Array.from(preprocessImage(img, opts({})))).toEqual([...RED, ...GREEN, ...BLUE, ...WHITE]);
  });

  it('shrinks 2x2 -> 1x1 to the average of the four pixels (127.5 rounds up)', () => {
    expect(Array.from(preprocessImage(img, opts({ height: 1, width: 1 })))).toEqual([128, 128, 128]);
  });

  it('grayscale is BT.601 luma, rounded', () => {
    // red 0.299*255 = 76.245, green 149.685, blue 29.07, white 255
    expect(Array.from(preprocessImage(img, opts({ channels: 1 })))).toEqual([76, 150, 29, 255]);
  });

  it('enlarges 2x1 -> 4x1 with half-pixel-centre bilinear, edges repeated', () => {
    const line = rgbImage(2, 1, [
      [0, 0, 0],
      [200, 100, 40],
    ]);
    const out = preprocessImage(line, opts({ height: 1, width: 4, channels: 3 }));
    // source x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> weights of pixel 1: 0, 0.25, 0.75, 1
    expect(Array.from(out)).toEqual([0, 0, 0, 50, 25, 10, 150, 75, 30, 200, 100, 40]);
  });

  it('shrinks 4x1 -> 2x1 with the widened (antialiasing) triangle', () => {
    const line = rgbImage(4, 1, [
      [0, 0, 0],
      [40, 0, 0],
      [80, 0, 0],
      [120, 0, 0],
    ]);
    // scale 2, support 2: output 0 centred at 1.0 weighs pixels at 0.5, 1.5, 2.5: 0.75, 0.75, 0.25
    // -> (0 * 0.75 + 40 * 0.75 + 80 * 0.25) / 1.75 = 28.57 -> 29; output 1 at 3.0: pixels 1.5, 2.5, 3.5
    // weigh 0.25, 0.75, 0.75 -> (10 + 60 + 90) / 1.75 = 91.43 -> 91
    const out = preprocessImage(line, opts({ height: 1, width: 2, channels: 3 }));
    expect([out[0], out[3]]).toEqual([29, 91]);
  });

  it('centre crop takes the middle square of a wide image; stretch squeezes all of it', () => {
    const wide = rgbImage(4, 2, [RED, GREEN, BLUE, WHITE, RED, GREEN, BLUE, WHITE]);
    expect(resizeBox(4, 2, 2, 2, 'centre-crop')).toEqual({ x0: 1, y0: 0, x1: 3, y1: 2 });
    const crop = preprocessImage(wide, opts({ resize: 'centre-crop' }));
    expect(Array.from(crop)).toEqual([...GREEN, ...BLUE, ...GREEN, ...BLUE]);
    const stretch = preprocessImage(wide, opts({ resize: 'stretch', height: 2, width: 1, channels: 3 }));
    // Each row's four pixels weigh 1 - |x + 0.5 - 2| / 4 = 0.625, 0.875, 0.875, 0.625 (sum 3):
    // R = 255 * (0.625 + 0.625) / 3 = 106.25 -> 106; G = 255 * (0.875 + 0.625) / 3 = 127.5 -> 128; B likewise
    expect(Array.from(stretch.subarray(0, 3))).toEqual([106, 128, 128]);
  });

  it('centre crop of a tall image takes the middle rows', () => {
    expect(resizeBox(2, 6, 2, 2, 'centre-crop')).toEqual({ x0: 0, y0: 2, x1: 2, y1: 4 });
    expect(resizeBox(3, 2, 2, 2, 'centre-crop')).toEqual({ x0: 0.5, y0: 0, x1: 2.5, y1: 2 });
  });

  it('resizeToRgb gives unrounded values', () => {
    const out = resizeToRgb(img, 1, 1);
    expect(Array.from(out)).toEqual([127.5, 127.5, 127.5]);
  });
});

describe('pixelTransform', () => {
  const apply = (range: PreprocessOptions['range'], byte: number, channels = 1): number[] => {
    const t = pixelTransform(range, channels);
    return t.scale.map((s, c) => byte * s + t.offset[c]!);
  };
  it('maps bytes to each range', () => {
    expect(apply('[0,1]', 255)[0]).toBeCloseTo(1, 7);
    expect(apply('[0,1]', 51)[0]).toBeCloseTo(0.2, 7);
    expect(apply('[-1,1]', 0)[0]).toBe(-1);
    expect(apply('[-1,1]', 255)[0]).toBeCloseTo(1, 7);
    expect(apply('[-1,1]', 128)[0]).toBeCloseTo(128 / 127.5 - 1, 7);
    expect(apply('[0,255]', 200)[0]).toBe(200);
  });
  it('mean/std per channel on the [0,1] scale (torchvision style)', () => {
    const v = apply({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }, 255, 3);
    expect(v[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(v[1]).toBeCloseTo((1 - 0.456) / 0.224, 5);
    expect(v[2]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    expect(apply({ mean: [0.5], std: [0.5] }, 0, 3)).toEqual([-1, -1, -1]);
    expect(() => pixelTransform({ mean: [0.5, 0.5], std: [1] }, 3)).toThrow(/2 mean values for 3 channels/);
    expect(() => pixelTransform({ mean: [0.5], std: [0] }, 1)).toThrow(/std must be > 0/);
  });
});

describe('guessPreprocess', () => {
  it('reads size and channels from the input shape', () => {
    const g = guessPreprocess([null, 28, 28, 1]);
    expect(g.options).toEqual({ height: 28, width: 28, channels: 1, resize: 'stretch', range: '[0,1]' });
    expect(g.reasons.join(' ')).toMatch(/grayscale/);
    expect(guessPreprocess([null, 224, 160, 3]).options).toMatchObject({
      height: 224,
      width: 160,
      channels: 3,
    });
  });
  it('guesses 224 for an open size and says so; refuses odd shapes', () => {
    const g = guessPreprocess([null, null, null, 3]);
    expect([g.options.height, g.options.width]).toEqual([224, 224]);
    expect(g.reasons[0]).toMatch(/open/);
    expect(() => guessPreprocess([null, 28, 28, 2])).toThrow(/2 channels/);
    expect(() => guessPreprocess([null, 784])).toThrow(/\[batch, height, width, channels\]/);
  });
});

it('previewRgba repeats gray and sets alpha', () => {
  expect(Array.from(previewRgba(Uint8Array.of(10, 20), 1, 2, 1))).toEqual([10, 10, 10, 255, 20, 20, 20, 255]);
  expect(Array.from(previewRgba(Uint8Array.of(1, 2, 3), 1, 1, 3))).toEqual([1, 2, 3, 255]);
});
