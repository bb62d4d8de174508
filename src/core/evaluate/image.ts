/**
 * Decoded images and the decoder seam. Core never decodes image files itself: the page passes one
 * built on `createImageBitmap` + `OffscreenCanvas` (src/worker/decode-image.ts), Node one built on
 * pure-JS pngjs / jpeg-js (src/node/decode-image.ts), tests whatever they like.
 */

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
