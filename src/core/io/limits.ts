/**
 * Every limit a file is checked against before anything is allocated for it, in one place, so that the
 * page and the CLI can show them and error messages can name them (STYLE.md example 14: "limits live at
 * the boundary, with numbers"). A size a file declares (zip entry sizes, HDF5 dataset shapes, manifest
 * weight shapes, image dimensions, `.plss` headers) is compared with these and with the bytes present;
 * over a limit is `ModelLoadError('LIMIT_EXCEEDED')` naming the entry, the value and the limit.
 *
 * Chosen so that real models pass with room to spare (VGG-16's largest tensor, fc1, is 392 MiB; the
 * whole model 528 MiB) while no single file can make us allocate more than a few GiB.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// ---- Zip archives (.zip, .keras) --------------------------------------------------------------------

/** Entries in one archive's central directory (folders and macOS junk included). */
export const MAX_ZIP_ENTRIES = 10_000;
/** Sum of the declared uncompressed sizes of the entries one archive (with its nested archives) expands to. */
export const MAX_ZIP_TOTAL_BYTES = 2 * GiB;
/** Largest uncompressed / compressed ratio of one entry; a real weights file is near 1, JSON near 10. */
export const MAX_ZIP_RATIO = 100;
/** Entries that expand to less than this are not held to `MAX_ZIP_RATIO` (a small zeroed file is fine). */
export const ZIP_RATIO_EXEMPT_BYTES = 1 * MiB;
/** Zips inside zips that are opened: an archive holding an archive, but not deeper. */
export const MAX_ZIP_NESTING = 2;

// ---- HDF5 (.h5, a .keras archive's model.weights.h5) ------------------------------------------------

/**
 * Steps of walking one HDF5 file: each link listed counts 1, each link followed counts its depth
 * (HDF5 resolves every path from the root, so a deep link costs that much more). A 1,000-layer
 * .keras takes about 30,000; 200,000 take 2 to 3 s.
 */
export const MAX_HDF5_WALK_STEPS = 200_000;
/** Nesting depth of groups in one HDF5 file (Keras uses under 10: layers/<model>/layers/<layer>/vars). */
export const MAX_HDF5_DEPTH = 64;

// ---- Weights (every format) -------------------------------------------------------------------------

/** Bytes of one decoded weight tensor (float32/int32, 4 bytes a value). */
export const MAX_TENSOR_BYTES = 1 * GiB;
/** Bytes of all decoded weights of one model together. */
export const MAX_MODEL_WEIGHT_BYTES = 2 * GiB;

// ---- Images and sample sets -------------------------------------------------------------------------

/** Largest image width or height decoded (browsers' canvases stop near here too). */
export const MAX_IMAGE_SIDE = 16_384;
/** Largest image area decoded, in pixels (50 MP = 200 MB as RGBA). */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** A byte count for a message: `40 GB`, `1.5 MB`, `700 bytes` (decimal units, as file managers show sizes). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : Number(v.toPrecision(2))} ${units[i]!}`;
}

/** A limit in binary units as we state them: `2 GiB`, `1 MiB`, else bytes. */
export function formatLimit(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  return `${n} bytes`;
}

/** All limits by name, for the page's and the CLI's "limits" listing. */
export const LIMITS = {
  MAX_ZIP_ENTRIES,
  MAX_ZIP_TOTAL_BYTES,
  MAX_ZIP_RATIO,
  ZIP_RATIO_EXEMPT_BYTES,
  MAX_ZIP_NESTING,
  MAX_HDF5_WALK_STEPS,
  MAX_HDF5_DEPTH,
  MAX_TENSOR_BYTES,
  MAX_MODEL_WEIGHT_BYTES,
  MAX_IMAGE_SIDE,
  MAX_IMAGE_PIXELS,
} as const;
