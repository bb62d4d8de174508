/**
 * The browser image decoder (page or worker): `createImageBitmap` + `OffscreenCanvas`, so it reads
 * whatever the browser reads (PNG, JPEG, GIF, BMP, WebP...). Globals are touched only when called.
 * `getImageData` returns non-premultiplied RGBA; EXIF orientation is applied (`imageOrientation:
 * 'from-image'`), colour space conversion left to the browser's default.
 */
import { type DecodedImage, type ImageDecoder, sniffImageFormat } from '../core/evaluate/image';

const MIME: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
};

/** Decodes image bytes to RGBA with the browser's own decoders; rejects naming the file when it cannot. */
export const decodeImageBrowser: ImageDecoder = async (bytes, name): Promise<DecodedImage> => {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') {
    throw new Error('This browser cannot decode images off screen (no createImageBitmap / OffscreenCanvas).');
  }
  const format = sniffImageFormat(bytes);
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: format ? MIME[format] : '' });
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new Error(`'${name}' could not be decoded${e instanceof Error ? `: ${e.message}` : ''}`);
  }
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D context on an OffscreenCanvas');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { width, height, data };
  } finally {
    bitmap.close();
  }
};
