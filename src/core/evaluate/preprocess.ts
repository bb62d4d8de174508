/**
 * Image -> model input, in two steps so a set of photos costs one byte per value:
 *
 * 1. `preprocessImage`: resize the RGBA image to the model's `height x width` and convert it to its
 *    channels, rounding to bytes (like saving a resized image). These bytes are what the preview shows.
 *    - Resize `'stretch'` maps the whole image onto the target (aspect ratio not kept, as Keras'
 *      `image_dataset_from_directory` does by default); `'centre-crop'` first takes the largest
 *      centred region with the target's aspect ratio (sub-pixel box, nothing is lost to rounding).
 *    - Resampling is bilinear as a separable triangle filter on pixel centres (`x_src = (x + 0.5) *
 *      scale - 0.5`); when shrinking, the triangle widens to the scale factor so every source pixel
 *      contributes (antialiased, like Pillow's `Image.resize(..., BILINEAR)`); when enlarging it is
 *      exactly half-pixel-centre bilinear with edge pixels repeated (`tf.image.resizeBilinear` with
 *      `halfPixelCenters`). Alpha is ignored: a transparent pixel counts as its stored colour.
 *    - Grayscale is the ITU-R BT.601 luma `0.299 R + 0.587 G + 0.114 B` (Pillow's `convert('L')`,
 *      `tf.image.rgbToGrayscale`); a 3-channel model gets R, G, B (a gray image has R = G = B).
 *    - Rounding is to the nearest byte, halves up.
 * 2. `pixelTransform`: the value range as a per-channel affine map `byte * scale + offset`, applied
 *    when a batch is made (sample-source.ts): `[0,1]` = b/255, `[-1,1]` = b/127.5 - 1, `[0,255]` = b,
 *    mean/std = (b/255 - mean[c]) / std[c], with mean and std given on the [0, 1] scale (torchvision's
 *    ImageNet figures `mean [0.485, 0.456, 0.406]`, `std [0.229, 0.224, 0.225]` are entered as they are).
 *
 * Example: a 2x2 RGB image with pixels red, green / blue, white, stretched to 1x1 RGB, is one pixel
 * `(128, 128, 128)` (each channel averages 255, 0, 0, 255 -> 127.5, rounded up); in `[-1,1]` that
 * is `128 / 127.5 - 1 = 0.0039...`.
 */
import type { DecodedImage } from './image';
import { assertDecodedImage } from './image';
import type { PixelTransform } from './sample-source';

/** Mean and standard deviation per channel, on the [0, 1] scale (one entry, or one per channel). */
export interface MeanStd {
  mean: readonly number[];
  std: readonly number[];
}

/** What the model expects its input values to be. */
export type ValueRange = '[0,1]' | '[-1,1]' | '[0,255]' | MeanStd;

export type ResizeMode = 'stretch' | 'centre-crop';

/** How an image becomes one model input. */
export interface PreprocessOptions {
  height: number;
  width: number;
  /** 1 = grayscale (BT.601 luma), 3 = RGB. */
  channels: 1 | 3;
  resize: ResizeMode;
  range: ValueRange;
}

/** The value ranges a user can pick, with a label each (mean/std is entered separately). */
export const VALUE_RANGES: readonly { id: '[0,1]' | '[-1,1]' | '[0,255]'; label: string }[] = [
  { id: '[0,1]', label: '0 to 1 (pixel / 255)' },
  { id: '[-1,1]', label: '-1 to 1 (pixel / 127.5 - 1; MobileNet, EfficientNet-lite, Teachable Machine)' },
  { id: '[0,255]', label: '0 to 255 (raw pixel values)' },
];

/** A guess of the preprocessing from the model's input shape, with the reasons to show the user. */
export interface PreprocessGuess {
  options: PreprocessOptions;
  reasons: string[];
}

const DEFAULT_SIZE = 224;

/**
 * Guesses preprocessing from an input shape `[batch, height, width, channels]` (channels-last):
 * size from the shape (224 where it is open), grayscale for 1 channel, RGB for 3, stretch, and
 * `[0,1]`, since a shape cannot tell the value range: the user confirms. Throws for other ranks or
 * channel counts. Example: `[null, 28, 28, 1]` -> 28x28 grayscale, `[0,1]`.
 */
export function guessPreprocess(inputShape: readonly (number | null)[]): PreprocessGuess {
  if (inputShape.length !== 4) {
    throw new Error(
      `The model's input shape is [${inputShape.map(String).join(', ')}]; images need [batch, height, width, channels].`,
    );
  }
  const [, h, w, c] = inputShape;
  const reasons: string[] = [];
  if (c !== 1 && c !== 3) {
    throw new Error(`The model's input has ${String(c)} channels; images can feed 1 (grayscale) or 3 (RGB).`);
  }
  const height = h ?? DEFAULT_SIZE;
  const width = w ?? DEFAULT_SIZE;
  if (h == null || w == null) {
    reasons.push(
      `The input size is open; ${height}x${width} is a guess, set it to what the model was trained on.`,
    );
  } else reasons.push(`Resized to the model's input, ${height}x${width}, stretched.`);
  reasons.push(c === 1 ? '1 input channel: grayscale (BT.601 luma).' : '3 input channels: RGB.');
  reasons.push(
    'Values in [0,1] is a guess: the shape does not say. MobileNet-family and Teachable Machine models want [-1,1].',
  );
  return { options: { height, width, channels: c, resize: 'stretch', range: '[0,1]' }, reasons };
}

/** The per-channel affine map `byte * scale + offset` for a value range (see the module comment). */
export function pixelTransform(range: ValueRange, channels: number): PixelTransform {
  const fill = (v: number): number[] => new Array<number>(channels).fill(v);
  if (range === '[0,1]') return { scale: fill(1 / 255), offset: fill(0) };
  if (range === '[-1,1]') return { scale: fill(1 / 127.5), offset: fill(-1) };
  if (range === '[0,255]') return { scale: fill(1), offset: fill(0) };
  const pick = (list: readonly number[], what: string): number[] => {
    if (list.length === 1) return fill(list[0]!);
    if (list.length !== channels)
      throw new Error(`Mean/std: ${list.length} ${what} values for ${channels} channels.`);
    return [...list];
  };
  const mean = pick(range.mean, 'mean');
  const std = pick(range.std, 'std');
  if (std.some((s) => !(s > 0))) throw new Error(`Mean/std: every std must be > 0, got [${std.join(', ')}].`);
  return { scale: std.map((s) => 1 / (255 * s)), offset: mean.map((m, c) => -m / std[c]!) };
}

/** One axis of a resampling: for each output index, the first source index and its weights. */
interface AxisWeights {
  first: Int32Array;
  weights: Float64Array[];
}

/**
 * Triangle-filter weights mapping source pixels `[box0, box1)` (in pixel units, may be fractional)
 * onto `outSize` pixels: output `i` centred at `box0 + (i + 0.5) * scale`; a source pixel `j` sits
 * at `j + 0.5` and weighs `max(0, 1 - |j + 0.5 - centre| / support)`, `support = max(1, scale)`.
 * Weights are normalised over the pixels that exist (edges repeat themselves, in effect).
 */
function axisWeights(inSize: number, box0: number, box1: number, outSize: number): AxisWeights {
  const scale = (box1 - box0) / outSize;
  const support = Math.max(1, scale);
  const first = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const centre = box0 + (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize, Math.ceil(centre + support));
    const w = new Float64Array(Math.max(0, hi - lo));
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const v = Math.max(0, 1 - Math.abs(j + 0.5 - centre) / support);
      w[j - lo] = v;
      sum += v;
    }
    if (sum > 0) for (let k = 0; k < w.length; k++) w[k]! /= sum;
    else {
      // Only when the box lies outside the image: take the nearest pixel.
      const j = Math.min(inSize - 1, Math.max(0, Math.floor(centre)));
      first[i] = j;
      weights.push(Float64Array.of(1));
      continue;
    }
    first[i] = lo;
    weights.push(w);
  }
  return { first, weights };
}

/** The source box `[x0, x1) x [y0, y1)` a resize mode reads, in pixel units. */
export function resizeBox(
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number,
  mode: ResizeMode,
): { x0: number; y0: number; x1: number; y1: number } {
  if (mode === 'stretch') return { x0: 0, y0: 0, x1: srcWidth, y1: srcHeight };
  const target = width / height;
  if (srcWidth / srcHeight > target) {
    const w = srcHeight * target;
    const x0 = (srcWidth - w) / 2;
    return { x0, y0: 0, x1: x0 + w, y1: srcHeight };
  }
  const h = srcWidth / target;
  const y0 = (srcHeight - h) / 2;
  return { x0: 0, y0, x1: srcWidth, y1: y0 + h };
}

/**
 * Resizes an RGBA image to `width x height` RGB floats (0..255, not rounded), `[h, w, 3]` row-major,
 * with the separable triangle filter described in the module comment.
 */
export function resizeToRgb(
  img: DecodedImage,
  width: number,
  height: number,
  mode: ResizeMode = 'stretch',
): Float32Array {
  assertDecodedImage(img, 'image');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`Resize target must be a positive size, got ${width}x${height}.`);
  const box = resizeBox(img.width, img.height, width, height, mode);
  const xs = axisWeights(img.width, box.x0, box.x1, width);
  const ys = axisWeights(img.height, box.y0, box.y1, height);
  const src = img.data;
  const sw = img.width;
  // Horizontal pass over every source row the vertical pass will read: [srcHeight, width, 3].
  const rows = new Float64Array(img.height * width * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      const w = xs.weights[x]!;
      const j0 = xs.first[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < w.length; k++) {
        const p = (y * sw + j0 + k) * 4;
        const wk = w[k]!;
        r += src[p]! * wk;
        g += src[p + 1]! * wk;
        b += src[p + 2]! * wk;
      }
      const o = (y * width + x) * 3;
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
    }
  }
  const out = new Float32Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const w = ys.weights[y]!;
    const i0 = ys.first[y]!;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < w.length; k++) {
        const p = ((i0 + k) * width + x) * 3;
        const wk = w[k]!;
        r += rows[p]! * wk;
        g += rows[p + 1]! * wk;
        b += rows[p + 2]! * wk;
      }
      const o = (y * width + x) * 3;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return out;
}

/** BT.601 luma weights of R, G, B. */
export const LUMA_WEIGHTS: readonly [number, number, number] = [0.299, 0.587, 0.114];

function toByte(v: number): number {
  return Math.min(255, Math.max(0, Math.floor(v + 0.5)));
}

/**
 * One image as the model's input bytes: `[height, width, channels]` row-major, resized and
 * converted as the module comment says, rounded to bytes. Map them to values with `pixelTransform`.
 */
export function preprocessImage(img: DecodedImage, opts: PreprocessOptions): Uint8Array {
  const rgb = resizeToRgb(img, opts.width, opts.height, opts.resize);
  const n = opts.width * opts.height;
  const out = new Uint8Array(n * opts.channels);
  if (opts.channels === 3) {
    for (let i = 0; i < rgb.length; i++) out[i] = toByte(rgb[i]!);
  } else {
    const [wr, wg, wb] = LUMA_WEIGHTS;
    for (let i = 0; i < n; i++)
      out[i] = toByte(wr * rgb[3 * i]! + wg * rgb[3 * i + 1]! + wb * rgb[3 * i + 2]!);
  }
  return out;
}

/** Bytes of one `[h, w, c]` sample (c = 1 or 3) as RGBA for a canvas preview (gray repeated, alpha 255). */
export function previewRgba(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
): Uint8ClampedArray {
  if (channels !== 1 && channels !== 3) throw new Error(`Cannot preview ${channels} channels.`);
  const n = height * width;
  if (pixels.length !== n * channels)
    throw new Error(`Preview: ${pixels.length} bytes for ${height}x${width}x${channels}.`);
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const r = pixels[i * channels]!;
    out[4 * i] = r;
    out[4 * i + 1] = channels === 3 ? pixels[i * 3 + 1]! : r;
    out[4 * i + 2] = channels === 3 ? pixels[i * 3 + 2]! : r;
    out[4 * i + 3] = 255;
  }
  return out;
}
