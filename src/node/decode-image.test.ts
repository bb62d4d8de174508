import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImageNode } from './decode-image';
import { sniffImageFormat, type DecodedImage } from '../core/evaluate/image';
import { preprocessImage } from '../core/evaluate/preprocess';

/** An RGBA image from `[r, g, b]` pixels, row-major, alpha 255. */
function rgbImage(width: number, height: number, pixels: [number, number, number][]): DecodedImage {
  const data = new Uint8ClampedArray(width * height * 4);
  pixels.forEach(([r, g, b], i) => data.set([r, g, b, 255], i * 4));
  return { width, height, data };
}

/** PNG bytes of an RGBA image, written by pngjs. */
function pngBytes(img: DecodedImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height });
  png.data.set(img.data);
  return new Uint8Array(PNG.sync.write(png));
}

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];
const WHITE: [number, number, number] = [255, 255, 255];

describe('decodeImageNode', () => {
  it('decodes a 2x2 RGB PNG made with pngjs to the same RGBA pixels', async () => {
    const img = rgbImage(2, 2, [RED, GREEN, BLUE, WHITE]);
    const bytes = pngBytes(img);
    expect(sniffImageFormat(bytes)).toBe('png');
    const back = await decodeImageNode(bytes, 'x.png');
    expect([back.width, back.height]).toEqual([2, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(img.data));
  });

  it('decodes a JPEG (lossy: close to the source colour)', async () => {
    const data = new Uint8Array(8 * 8 * 4);
    for (let i = 0; i < 64; i++) data.set([200, 100, 50, 255], i * 4);
    const bytes = new Uint8Array(jpeg.encode({ width: 8, height: 8, data }, 95).data);
    expect(sniffImageFormat(bytes)).toBe('jpeg');
    const back = await decodeImageNode(bytes, 'x.jpg');
    expect([back.width, back.height]).toEqual([8, 8]);
    expect(Math.abs(back.data[0]! - 200)).toBeLessThanOrEqual(3);
    expect(Math.abs(back.data[1]! - 100)).toBeLessThanOrEqual(3);
    expect(Math.abs(back.data[2]! - 50)).toBeLessThanOrEqual(3);
  });

  it('rejects what is not a PNG or JPEG, naming the file', async () => {
    await expect(decodeImageNode(new TextEncoder().encode('hello'), 'notes.png')).rejects.toThrow(
      /'notes.png' is not a PNG or JPEG/,
    );
    const gif = new TextEncoder().encode('GIF89a........');
    await expect(decodeImageNode(gif, 'a.gif')).rejects.toThrow(/GIF image/);
    const broken = pngBytes(rgbImage(2, 2, [RED, RED, RED, RED])).slice(0, 30);
    await expect(decodeImageNode(broken, 'cut.png')).rejects.toThrow();
  });
});

it('a 2x2 RGB PNG -> decode -> 1x1 grayscale is the hand-computed luma of the mean', async () => {
  const img = await decodeImageNode(pngBytes(rgbImage(2, 2, [RED, GREEN, BLUE, WHITE])), 'x.png');
  // each channel averages to 127.5; luma 0.299 + 0.587 + 0.114 = 1 -> 127.5 -> 128
  const out = preprocessImage(img, { height: 1, width: 1, channels: 1, resize: 'stretch', range: '[0,1]' });
  expect(Array.from(out)).toEqual([128]);
});
