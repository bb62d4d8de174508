/**
 * Builders for the bad-file corpus (test/bad-files/<area>/cases.json): the small files are made by
 * `npx tsx scripts/make-bad-files.ts` with these and committed; the big ones (zip bombs, huge images,
 * HDF5 files with 100,001 links) are made on demand by the `generators` below, named in a case's
 * `generate` field, into a temporary folder, under the names the case's `input` lists.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { deflateSync } from 'fflate';
import { PNG } from 'pngjs';
import type { InputFile, ModelArtifactsData } from '../../src/core/ir/artifacts';
import { writeTfjsModel } from '../../src/core/io/export-tfjs';
import { keras3Config } from '../../src/core/io/keras-v3';
import { crc32 } from '../../src/core/io/zip';
import { handSequential, weight } from '../../src/core/testing/hand-models';
import { encodeSampleSet } from '../../src/core/evaluate/sample-set';

const enc = new TextEncoder();

// ---- Models --------------------------------------------------------------------------------------

/** A 3 -> 2 Dense model (8 weights): the smallest model every format can hold. */
export function tinyArtifacts(): ModelArtifactsData {
  return handSequential(
    [
      [
        'Dense',
        { name: 'dense', units: 2, activation: 'linear', use_bias: true, batch_input_shape: [null, 3] },
      ],
    ],
    [weight('dense/kernel', [3, 2], (i) => i / 10 - 0.2), weight('dense/bias', [2], (i) => i)],
  );
}

/** The tiny model as TF.js files: `model.json` and `group1-shard1of1.bin`. */
export function tinyTfjsFiles(): InputFile[] {
  return writeTfjsModel(tinyArtifacts());
}

/** The tiny model's model.json as an object, to break. */
export function tinyModelJson(): Record<string, unknown> {
  const json = tinyTfjsFiles().find((f) => f.path === 'model.json')!;
  return JSON.parse(new TextDecoder().decode(json.bytes)) as Record<string, unknown>;
}

/** config.json and metadata.json of the tiny model as a Keras 3 `.keras` archive holds them. */
export function tinyKeras3Json(): InputFile[] {
  return [
    { path: 'metadata.json', bytes: enc.encode(JSON.stringify({ keras_version: '3.11.3' })) },
    { path: 'config.json', bytes: enc.encode(JSON.stringify(keras3Config(tinyArtifacts()))) },
  ];
}

type H5 = (typeof import('h5wasm'))['default'];
type H5File = InstanceType<H5['File']>;
let h5counter = 0;

/** Builds an HDF5 file with h5wasm's own API (links, chunked datasets, odd types) and returns its bytes. */
export async function buildHdf5(fill: (file: H5File, h5: H5) => void): Promise<Uint8Array> {
  const h5 = (await import('h5wasm')).default;
  const module = await h5.ready;
  module.activate_throwing_error_handler();
  const path = `/bad-files-${++h5counter}.h5`;
  const file = new h5.File(path, 'w');
  try {
    fill(file, h5);
  } finally {
    file.close();
  }
  const fs = module.FS as unknown as { readFile(p: string): Uint8Array; unlink(p: string): void };
  const bytes = fs.readFile(path).slice();
  fs.unlink(path);
  return bytes;
}

/**
 * The tiny model's Keras 3 weights file (`layers/dense/vars/0..1`), with `extra` run on the file
 * to break it; `kernel` replaces the kernel dataset's creation.
 */
export async function tinyKeras3Weights(
  extra: (file: H5File, h5: H5) => void = () => {},
  kernel?: (vars: ReturnType<H5File['create_group']>) => void,
): Promise<Uint8Array> {
  return buildHdf5((file, h5) => {
    const layers = file.create_group('layers');
    const dense = layers.create_group('dense');
    const vars = dense.create_group('vars');
    if (kernel) kernel(vars);
    else vars.create_dataset({ name: '0', data: Float32Array.of(0, 0.1, 0.2, 0.3, 0.4, 0.5), shape: [3, 2] });
    vars.create_dataset({ name: '1', data: Float32Array.of(0, 1), shape: [2] });
    file.create_group('vars');
    extra(file, h5);
  });
}

/** A `.keras` archive (stored, like Keras writes them) of the tiny model's JSON and the given weights file. */
export function kerasArchive(weights: Uint8Array, entries: CraftEntry[] = []): Uint8Array {
  return craftZip([
    ...tinyKeras3Json().map((f) => ({ name: f.path, data: f.bytes })),
    { name: 'model.weights.h5', data: weights },
    ...entries,
  ]);
}

/** The tiny model as a Keras 2 full-model .h5, with `kernel` creating the kernel dataset. */
export async function tinyKeras2H5(
  kernel: (g: ReturnType<H5File['create_group']>) => void,
  extra: (file: H5File) => void = () => {},
): Promise<Uint8Array> {
  const config = JSON.stringify(tinyArtifacts().modelTopology);
  return buildHdf5((file) => {
    file.create_attribute('model_config', config);
    file.create_attribute('keras_version', '2.15.0');
    file.create_attribute('backend', 'tensorflow');
    const mw = file.create_group('model_weights');
    mw.create_attribute('layer_names', ['dense'], [1], 'S');
    const layer = mw.create_group('dense');
    layer.create_attribute('weight_names', ['dense/kernel:0', 'dense/bias:0'], [2], 'S');
    const scope = layer.create_group('dense');
    kernel(scope);
    scope.create_dataset({ name: 'bias:0', data: Float32Array.of(0, 1), shape: [2] });
    extra(file);
  });
}

// ---- Zips ----------------------------------------------------------------------------------------

/** One entry of a hand-made zip; every field a zip writer would get right can be got wrong on purpose. */
export interface CraftEntry {
  name: string;
  data: Uint8Array;
  /** Deflate the data (default: stored). */
  deflate?: boolean;
  /** The CRC-32 to declare (default: the right one). */
  crc?: number;
  /** The uncompressed size to declare (default: the real one). */
  size?: number;
  /** General-purpose flags (bit 0: encrypted). */
  flags?: number;
  /** The compression method to declare (default 0 or 8). */
  method?: number;
  /** Point this entry's directory record at entry `i`'s local header instead of its own data. */
  sameDataAs?: number;
}

/** A zip archive written by hand: local headers, central directory, end record (`declareCount` overrides the count). */
export function craftZip(entries: CraftEntry[], opts: { declareCount?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const dir: Uint8Array[] = [];
  const offsets: number[] = [];
  let at = 0;
  const header = (size: number, fill: (v: DataView) => void): Uint8Array => {
    const b = new Uint8Array(size);
    fill(new DataView(b.buffer));
    return b;
  };
  for (const e of entries) {
    const name = enc.encode(e.name);
    const body = e.deflate ? deflateSync(e.data, { level: 9 }) : e.data;
    const method = e.method ?? (e.deflate ? 8 : 0);
    const crc = e.crc ?? crc32(e.data);
    const size = e.size ?? e.data.length;
    const flags = (e.flags ?? 0) | 0x800;
    const local = header(30, (v) => {
      v.setUint32(0, 0x04034b50, true);
      v.setUint16(4, 20, true);
      v.setUint16(6, flags, true);
      v.setUint16(8, method, true);
      v.setUint32(14, crc, true);
      v.setUint32(18, body.length, true);
      v.setUint32(22, size, true);
      v.setUint16(26, name.length, true);
    });
    const offset = e.sameDataAs !== undefined ? offsets[e.sameDataAs]! : at;
    offsets.push(offset);
    if (e.sameDataAs === undefined) {
      parts.push(local, name, body);
      at += local.length + name.length + body.length;
    }
    const central = header(46, (v) => {
      v.setUint32(0, 0x02014b50, true);
      v.setUint16(4, 20, true);
      v.setUint16(6, 20, true);
      v.setUint16(8, flags, true);
      v.setUint16(10, method, true);
      v.setUint32(16, crc, true);
      v.setUint32(20, body.length, true);
      v.setUint32(24, size, true);
      v.setUint16(28, name.length, true);
      v.setUint32(42, offset, true);
    });
    dir.push(central, name);
  }
  const dirSize = dir.reduce((n, b) => n + b.length, 0);
  const count = opts.declareCount ?? entries.length;
  const end = header(22, (v) => {
    v.setUint32(0, 0x06054b50, true);
    v.setUint16(8, Math.min(count, 0xffff), true);
    v.setUint16(10, Math.min(count, 0xffff), true);
    v.setUint32(12, dirSize, true);
    v.setUint32(16, at, true);
  });
  const all = [...parts, ...dir, end];
  const out = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let p = 0;
  for (const b of all) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

// ---- Images and sample sets ----------------------------------------------------------------------

/** A real PNG of `width x height` RGBA pixels, each `rgba(x, y)` (default mid grey). */
export function pngImage(
  width: number,
  height: number,
  rgba: (x: number, y: number) => [number, number, number, number] = () => [128, 128, 128, 255],
): Uint8Array {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) png.data.set(rgba(x, y), (y * width + x) * 4);
  return new Uint8Array(PNG.sync.write(png));
}

/** A PNG whose IHDR declares `width x height` but holds one tiny IDAT: the header is all a size check needs. */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  const ok = pngImage(1, 1);
  const out = ok.slice();
  const v = new DataView(out.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  // IHDR's CRC covers type + data (bytes 12..29); fix it so the file is well formed but for its size.
  v.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** A baseline JPEG prefix (SOI, APP0, SOF0 declaring `width x height`, EOI): enough for a header check. */
export function jpegHeaderOnly(width: number, height: number): Uint8Array {
  return Uint8Array.of(
    0xff,
    0xd8,
    0xff,
    0xe0,
    0x00,
    0x10,
    0x4a,
    0x46,
    0x49,
    0x46,
    0x00,
    0x01,
    0x01,
    0x00,
    0x00,
    0x01,
    0x00,
    0x01,
    0x00,
    0x00,
    0xff,
    0xc0,
    0x00,
    0x0b,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x01,
    0x01,
    0x11,
    0x00,
    0xff,
    0xd9,
  );
}

/** A GIF header declaring `width x height` (u16 each). */
export function gifHeaderOnly(width: number, height: number): Uint8Array {
  const out = new Uint8Array(32);
  out.set(enc.encode('GIF89a'));
  const v = new DataView(out.buffer);
  v.setUint16(6, width, true);
  v.setUint16(8, height, true);
  out[31] = 0x3b;
  return out;
}

/** A BMP header (BITMAPINFOHEADER) declaring `width x height`. */
export function bmpHeaderOnly(width: number, height: number): Uint8Array {
  const out = new Uint8Array(54);
  out.set(enc.encode('BM'));
  const v = new DataView(out.buffer);
  v.setUint32(2, 54, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  return out;
}

/** A WebP (VP8X extended header) declaring a `width x height` canvas. */
export function webpHeaderOnly(width: number, height: number): Uint8Array {
  const out = new Uint8Array(30);
  out.set(enc.encode('RIFF'));
  new DataView(out.buffer).setUint32(4, 22, true);
  out.set(enc.encode('WEBPVP8X'), 8);
  new DataView(out.buffer).setUint32(16, 10, true);
  const u24 = (at: number, v: number) => {
    out[at] = v & 0xff;
    out[at + 1] = (v >> 8) & 0xff;
    out[at + 2] = (v >> 16) & 0xff;
  };
  u24(24, width - 1);
  u24(27, height - 1);
  return out;
}

/** A `.plss` set of `count` samples of `h x w x c` (pixel bytes `i % 251`), labelled `label(i)` or unlabelled. */
export function plss(
  count: number,
  [h, w, c]: [number, number, number],
  numClasses: number,
  label: ((i: number) => number) | null,
): Uint8Array {
  return encodeSampleSet({
    count,
    height: h,
    width: w,
    channels: c,
    numClasses,
    pixels: Uint8Array.from({ length: count * h * w * c }, (_, i) => i % 251),
    labels: label ? Uint8Array.from({ length: count }, (_, i) => label(i)) : null,
  });
}

// ---- Generators of big inputs ---------------------------------------------------------------------

async function put(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

/**
 * Generators named by cases' `generate` field: each writes, into `dir`, the files its case's `input`
 * lists. Each is deterministic and takes at most a few seconds.
 */
export const generators: Record<string, (dir: string) => Promise<void>> = {
  /** 200 MB of zeros deflated to about 200 KB: a 1000:1 zip bomb, with a true directory. */
  async zipBomb(dir) {
    const zeros = new Uint8Array(200 * 1024 * 1024);
    await put(dir, 'bomb.zip', craftZip([{ name: 'model.json', data: zeros, deflate: true }]));
  },
  /** Three entries that declare 800 MB each at a 100:1 ratio: 2.4 GB in all, over the archive limit. */
  async zipTotalOverLimit(dir) {
    const body = Uint8Array.from({ length: 8 * 1024 * 1024 }, (_, i) => (i * 2654435761) >>> 24);
    const entries = [0, 1, 2].map((i) => ({
      name: `m/group1-shard${i + 1}of3.bin`,
      data: body,
      size: 800 * 1024 * 1024,
      method: 8,
      crc: 0,
    }));
    await put(dir, 'big.zip', craftZip(entries));
  },
  /** An archive with 10,001 real (empty) entries, over the 10,000 entry limit. */
  async zipManyEntries(dir) {
    const entries = Array.from({ length: 10_001 }, (_, i) => ({
      name: `m/f${i}.txt`,
      data: new Uint8Array(0),
    }));
    await put(dir, 'many.zip', craftZip(entries));
  },
  /** A real 20000x20000 PNG (all black), about 400 KB: decoded it would be 1.6 GB of RGBA. */
  async pngBomb(dir) {
    const width = 20_000;
    const height = 20_000;
    // Raw scanlines: a filter byte (0) and `width` grey bytes each, all zero.
    const raw = new Uint8Array((width + 1) * height);
    const idat = deflateSync(raw, { level: 9 });
    const chunk = (type: string, data: Uint8Array): Uint8Array => {
      const out = new Uint8Array(12 + data.length);
      const v = new DataView(out.buffer);
      v.setUint32(0, data.length);
      out.set(enc.encode(type), 4);
      out.set(data, 8);
      v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
      return out;
    };
    const ihdr = new Uint8Array(13);
    const hv = new DataView(ihdr.buffer);
    hv.setUint32(0, width);
    hv.setUint32(4, height);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 0; // greyscale
    const parts = [
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
      chunk('IHDR', ihdr),
      chunk('IDAT', idat),
      chunk('IEND', new Uint8Array(0)),
    ];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    await put(dir, 'digits/3/huge.png', out);
  },
  /** A .keras whose weights file has a group of 100,001 hard links (to one empty group). */
  async hdf5ManyLinks(dir) {
    const weights = await tinyKeras3Weights((file) => {
      const g = file.create_group('crowd');
      const target = file.create_group('target');
      void target;
      for (let i = 0; i <= 100_000; i++) g.create_hard_link('/target', `l${i}`);
    });
    await put(dir, 'many-links.keras', kerasArchive(weights));
  },
  /** A plan removing 1,000,000 channels of conv1 (16 filters): 6.9 MB of JSON (plan area, the CLI engineer's case). */
  async planMillionIndices(dir) {
    const indices = Array.from({ length: 1_000_000 }, (_, i) => i).join(',');
    await put(dir, 'million-indices.plan', enc.encode(`{"version": 1, "remove": {"conv1": [${indices}]}}`));
  },
  /** A zip of digit images whose one image entry is a 200 MB-zeros deflate bomb. */
  async samplesZipBomb(dir) {
    const zeros = new Uint8Array(200 * 1024 * 1024);
    await put(dir, 'digits.zip', craftZip([{ name: 'digits/3/a.png', data: zeros, deflate: true }]));
  },
};
