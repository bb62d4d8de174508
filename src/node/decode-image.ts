/**
 * The Node image decoder (CLI, scripts, tests): PNG with pngjs and JPEG with jpeg-js, both pure
 * JavaScript, chosen by magic bytes. GIF, BMP and WebP are refused with a message (the page decodes them).
 */
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import {
  checkImageSize,
  sniffImageFormat,
  type DecodedImage,
  type ImageDecoder,
} from '../core/evaluate/image';
import { MAX_IMAGE_PIXELS } from '../core/io/limits';

/** Largest image accepted by jpeg-js, in megapixels; the header check refuses larger ones first. */
const MAX_MEGAPIXELS = MAX_IMAGE_PIXELS / 1e6;

/**
 * Decodes a PNG or JPEG to RGBA; rejects with the reason for anything else, and with
 * `ModelLoadError('LIMIT_EXCEEDED')` for an image whose header is over the size limits (before decoding).
 */
export const decodeImageNode: ImageDecoder = (bytes, name) => {
  try {
    return Promise.resolve(decodeSync(bytes, name));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
};

function decodeSync(bytes: Uint8Array, name: string): DecodedImage {
  const format = sniffImageFormat(bytes);
  if (format === 'png' || format === 'jpeg') checkImageSize(bytes, name);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'png') {
    const png = PNG.sync.read(buffer);
    return {
      width: png.width,
      height: png.height,
      data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
    };
  }
  if (format === 'jpeg') {
    const img = jpeg.decode(buffer, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_MEGAPIXELS,
      maxMemoryUsageInMB: 1024,
    });
    return { width: img.width, height: img.height, data: img.data };
  }
  throw new Error(
    format === null
      ? `'${name}' is not a PNG or JPEG image`
      : `'${name}' is a ${format.toUpperCase()} image; the command line reads PNG and JPEG`,
  );
}
