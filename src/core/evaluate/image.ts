/**
 * Decoded images and the decoder seam. Core never decodes image files itself: the page passes one
 * built on `createImageBitmap` + `OffscreenCanvas` (src/worker/decode-image.ts), Node one built on
 * pure-JS pngjs / jpeg-js (src/node/decode-image.ts), tests whatever they like.
 */
import { ModelLoadError } from '../io/errors';
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from '../io/limits';

/** A decoded image: `width * height` pixels, row-major, 4 bytes each (R, G, B, A, not premultiplied). */
export interface DecodedImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** Decodes one image file; rejects (with a message naming the problem) when it cannot. */
export type ImageDecoder = (bytes: Uint8Array, name: string) => Promise<DecodedImage>;

/** Image formats recognised by their first bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp';

/** File name endings taken as images even when the content does not sniff as one (then reported unreadable). */
export const IMAGE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg', 'jpe', 'gif', 'bmp', 'webp'];

/**
 * The image format by magic bytes, or null: PNG `89 50 4E 47 0D 0A 1A 0A`, JPEG `FF D8 FF`,
 * GIF `GIF87a`/`GIF89a`, BMP `BM`, WebP `RIFF....WEBP`.
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  const at = (i: number): number => bytes[i] ?? -1;
  const ascii = (from: number, text: string): boolean =>
    [...text].every((ch, i) => at(from + i) === ch.charCodeAt(0));
  if (at(0) === 0x89 && ascii(1, 'PNG\r\n\x1a\n')) return 'png';
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'BM') && bytes.length >= 26) return 'bmp';
  return null;
}

/** Throws when a decoded image's buffer does not hold `width * height` RGBA pixels. */
export function assertDecodedImage(img: DecodedImage, name: string): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`'${name}' decoded to an empty image (${img.width}x${img.height}).`);
  }
  if (img.data.length !== img.width * img.height * 4) {
    throw new Error(
      `'${name}' decoded to ${img.data.length} bytes, expected ${img.width}x${img.height}x4 RGBA.`,
    );
  }
}

/**
 * An image's width and height as its header declares them, read without decoding anything: PNG's
 * IHDR, JPEG's first SOFn frame header, GIF's logical screen, BMP's info header, WebP's VP8/VP8L/VP8X
 * chunk. Null when the format is unknown or the header is cut short (the decoder then says why).
 */
export function readImageSize(bytes: Uint8Array): { width: number; height: number } | null {
  const format = sniffImageFormat(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const has = (n: number): boolean => bytes.length >= n;
  switch (format) {
    case 'png':
      // Signature (8), IHDR length (4) and type (4), then width and height, big-endian.
      return has(24) ? { width: view.getUint32(16), height: view.getUint32(20) } : null;
    case 'gif':
      return has(10) ? { width: view.getUint16(6, true), height: view.getUint16(8, true) } : null;
    case 'bmp': {
      if (!has(26)) return null;
      if (view.getUint32(14, true) === 12) {
        return { width: view.getUint16(18, true), height: view.getUint16(20, true) }; // BITMAPCOREHEADER
      }
      // Height is negative for top-down bitmaps.
      return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
    }
    case 'webp': {
      if (!has(30)) return null;
      const chunk = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
      if (chunk === 'VP8 ') {
        return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
      }
      if (chunk === 'VP8L') {
        const bits = view.getUint32(21, true);
        return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
      }
      if (chunk === 'VP8X') {
        const u24 = (at: number): number => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
        return { width: u24(24) + 1, height: u24(27) + 1 };
      }
      return null;
    }
    case 'jpeg': {
      // Markers after SOI: FF xx, then a big-endian length that counts itself; SOFn holds the size.
      let at = 2;
      while (at + 4 <= bytes.length) {
        if (bytes[at] !== 0xff) return null;
        const marker = bytes[at + 1]!;
        if (marker === 0xff) {
          at++; // fill byte
          continue;
        }
        if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
          at += 2; // markers without a length
          continue;
        }
        if (marker === 0xda || marker === 0xd9) return null; // scan data or end before any frame header
        const length = view.getUint16(at + 2);
        const isFrame =
          marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
        if (isFrame) {
          return at + 9 <= bytes.length
            ? { width: view.getUint16(at + 7), height: view.getUint16(at + 5) }
            : null;
        }
        if (length < 2) return null;
        at += 2 + length;
      }
      return null;
    }
    default:
      return null;
  }
}

/**
 * Refuses, before decoding, an image whose header declares more than `MAX_IMAGE_SIDE` pixels a side
 * or `MAX_IMAGE_PIXELS` in all: `ModelLoadError('LIMIT_EXCEEDED')`, e.g. "image 'x.png' is
 * 30000x30000, over the 16384x16384 limit". A 140 KB PNG can declare 30000x30000 (3.6 GB as RGBA).
 */
export function checkImageSize(bytes: Uint8Array, name: string): void {
  const size = readImageSize(bytes);
  if (!size) return;
  const { width, height } = size;
  const where = { file: name };
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new ModelLoadError(
      'LIMIT_EXCEEDED',
      `image '${name}' is ${width}x${height}, over the ${MAX_IMAGE_SIDE}x${MAX_IMAGE_SIDE} limit.`,
      where,
    );
  }
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ModelLoadError(
      'LIMIT_EXCEEDED',
      `image '${name}' is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} megapixels), over the ` +
        `${MAX_IMAGE_PIXELS / 1e6} megapixel limit.`,
      where,
    );
  }
}
