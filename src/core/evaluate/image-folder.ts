/**
 * "Bring your own samples": dropped files (folders keep their sub-paths, zips are expanded) -> a
 * list of labelled or unlabelled images -> an `ImageSampleSet` the model can be run on.
 *
 * **Layouts** (first that applies):
 * - *CSV*: a `.csv` file of `file,label` rows (an optional header row is recognised because its
 *   first cell names no image). `file` is a path relative to the CSV's folder, or a bare file name
 *   when that is unique among the images. Images not listed are skipped as unlabelled.
 * - *One subfolder per class*: below the images' common folder, each first-level folder is a class
 *   (`digits/3/a.png`, `digits/7/b.png`: classes `3` and `7`; deeper folders belong to their
 *   class folder). Used when some image sits below the common folder, or when every image sits in
 *   one folder whose name the labels list holds. Images directly in the common folder are skipped.
 * - *No labels*: everything else (e.g. one folder of images): agreement and KL only.
 *
 * **Class names -> output indices**, first that applies: the `classNames` option (edited in the
 * page), a `labels.txt` (one name per line; Teachable Machine's `0 cat` / `1 dog` lines lose their
 * index prefix), a Teachable Machine `metadata.json` (`{"labels": [...]}`). Without a list: when
 * every name is a non-negative integer ("0".."9"), it is its own index; otherwise the names sorted
 * by code point (Python's `sorted`, as Keras' `image_dataset_from_directory` orders class folders)
 * are indices 0, 1, ... With a list, an integer name that is not in it is taken as an index.
 *
 * **Bad samples** are listed with a reason and skipped, never fatal: an unreadable image or archive,
 * a class that is not in the labels list, a label at or past the model's outputs, an image with no
 * label in a labelled layout, a CSV row naming a missing file. Other files are listed as ignored.
 */
import type { InputFile } from '../ir/artifacts';
import { baseName, dirName, normalizePath } from '../io/format';
import { isModelLoadError } from '../io/errors';
import { MAX_ZIP_NESTING } from '../io/limits';
import { isZip, unzipFiles, zipBudget, type ZipBudget } from '../io/zip';
import { checkImageSize, IMAGE_EXTENSIONS, sniffImageFormat, type ImageDecoder } from './image';
import { pixelTransform, preprocessImage, type PreprocessOptions } from './preprocess';
import { abortError } from './evaluate';
import { byteSource, type PixelTransform, type SampleSource } from './sample-source';

export type BadSampleCode =
  | 'UNREADABLE'
  | 'BAD_ARCHIVE'
  | 'UNKNOWN_CLASS'
  | 'LABEL_OUT_OF_RANGE'
  | 'NO_LABEL'
  | 'MISSING_FILE'
  | 'DUPLICATE'
  /** Over a named limit (image dimensions, archive size or ratio): refused before decoding. */
  | 'TOO_LARGE'
  /** An archive entry whose path leaves the archive (`../x`): the archive is not opened. */
  | 'PATH_ESCAPE';

/** A skipped sample or file and why. */
export interface BadSample {
  path: string;
  code: BadSampleCode;
  reason: string;
}

/** One image to decode, with its label (null in the unlabelled layout). */
export interface ImageEntry {
  path: string;
  bytes: Uint8Array;
  label: number | null;
  /** The class name as the files gave it (folder name or CSV cell), null when unlabelled. */
  className: string | null;
}

export type Labelling = 'folders' | 'csv' | 'none';
export type ClassSource = 'user' | 'labels.txt' | 'metadata.json' | 'numeric' | 'sorted';

/** What `listImageSamples` found. */
export interface ImageListing {
  entries: ImageEntry[];
  labelling: Labelling;
  /** Where the name -> index mapping came from (null when unlabelled and no list was given). */
  classSource: ClassSource | null;
  /** Class name per output index, `numClasses` long (indices nobody named are their number). */
  classNames: string[];
  /** Classes of the set: the model's outputs when given, else the names known. */
  numClasses: number;
  bad: BadSample[];
  /** Files that are neither images nor label files (`README.md`, `.DS_Store`...). */
  ignored: string[];
  /** Things worth telling the user that are not errors. */
  notes: string[];
}

export interface ListImageOptions {
  /** The model's outputs (classes it predicts): a label at or past it is a bad sample. */
  numOutputs?: number;
  /** Class names by output index; overrides labels.txt and metadata.json. */
  classNames?: readonly string[];
}

const JUNK = new Set(['.ds_store', 'thumbs.db', 'desktop.ini']);

function extensionOf(path: string): string {
  const b = baseName(path);
  const i = b.lastIndexOf('.');
  return i < 0 ? '' : b.slice(i + 1).toLowerCase();
}

function isJunk(path: string): boolean {
  const parts = path.split('/');
  const last = parts[parts.length - 1]!;
  return parts[0] === '__MACOSX' || last.startsWith('._') || JUNK.has(last.toLowerCase());
}

/** The bad-sample code for an error: limits and escapes keep their own, anything else is `fallback`. */
function badCode(e: unknown, fallback: BadSampleCode): BadSampleCode {
  if (isModelLoadError(e) && e.code === 'LIMIT_EXCEEDED') return 'TOO_LARGE';
  if (isModelLoadError(e) && e.code === 'PATH_ESCAPE') return 'PATH_ESCAPE';
  return fallback;
}

/**
 * Files with zips replaced by their entries, placed in the zip's folder; a zip in a zip is opened
 * (`MAX_ZIP_NESTING` levels in all), and all of them share one `MAX_ZIP_TOTAL_BYTES` budget.
 */
function expandArchives(
  files: readonly InputFile[],
  bad: BadSample[],
  depth = 0,
  budget: ZipBudget = zipBudget(),
): InputFile[] {
  const out: InputFile[] = [];
  for (const f of files) {
    const path = normalizePath(f.path);
    if (!isZip(f.bytes)) {
      out.push({ path, bytes: f.bytes });
      continue;
    }
    if (depth >= MAX_ZIP_NESTING) {
      bad.push({
        path,
        code: 'BAD_ARCHIVE',
        reason: `A zip nested deeper than ${MAX_ZIP_NESTING} levels is not opened.`,
      });
      continue;
    }
    try {
      const dir = dirName(path);
      const inner = unzipFiles(f.bytes, path, { budget }).map((e) => ({
        path: dir === '' ? e.path : `${dir}/${e.path}`,
        bytes: e.bytes,
      }));
      out.push(...expandArchives(inner, bad, depth + 1, budget));
    } catch (e) {
      bad.push({ path, code: badCode(e, 'BAD_ARCHIVE'), reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

const decoder = new TextDecoder('utf-8');

function text(bytes: Uint8Array): string {
  return decoder.decode(bytes).replace(/^\uFEFF/, '');
}

/**
 * Class names from a `labels.txt`: one per non-empty line, trimmed. When every line starts with its
 * own index and a space (Teachable Machine's Keras export: `0 cat`), the prefixes are dropped.
 */
export function parseLabelsTxt(content: string): string[] {
  const lines = content
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const indexed = lines.length > 0 && lines.every((l, i) => l.startsWith(`${i} `));
  return indexed ? lines.map((l, i) => l.slice(`${i} `.length).trim()) : lines;
}

/** Class names from a Teachable Machine `metadata.json` (`{"labels": ["cat", "dog"]}`), or null when it has none. */
export function parseMetadataLabels(content: string): string[] | null {
  try {
    const json = JSON.parse(content) as { labels?: unknown };
    if (
      Array.isArray(json.labels) &&
      json.labels.length > 0 &&
      json.labels.every((l) => typeof l === 'string')
    )
      return json.labels;
  } catch {
    // Not JSON: not a labels list.
  }
  return null;
}

/** Rows of a CSV (RFC 4180: quoted cells, doubled quotes, CRLF or LF); empty lines dropped. */
export function parseCsv(content: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const endRow = (): void => {
    row.push(cell);
    if (row.length > 1 || row[0]!.trim() !== '') rows.push(row);
    row = [];
    cell = '';
  };
  while (i < content.length) {
    const ch = content[i]!;
    if (quoted) {
      if (ch === '"' && content[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else cell += ch;
      i++;
      continue;
    }
    if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') endRow();
    else if (ch !== '\r') cell += ch;
    i++;
  }
  if (cell !== '' || row.length > 0) endRow();
  return rows;
}

const INTEGER = /^\d+$/;

/** Sorted by code point, like Python's `sorted` on str. */
function codePointSort(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Maps class names to indices; `undefined` = unknown class. */
interface ClassMap {
  source: ClassSource;
  names: string[];
  index(name: string): number | undefined;
}

function mapFromList(list: readonly string[], source: ClassSource): ClassMap {
  const byName = new Map<string, number>();
  list.forEach((n, i) => {
    if (!byName.has(n)) byName.set(n, i);
  });
  return {
    source,
    names: [...list],
    index: (name) => byName.get(name) ?? (INTEGER.test(name) ? Number(name) : undefined),
  };
}

function mapFromNames(found: Iterable<string>): ClassMap {
  const names = [...new Set(found)];
  if (names.length > 0 && names.every((n) => INTEGER.test(n))) {
    const max = Math.max(...names.map(Number));
    return {
      source: 'numeric',
      names: Array.from({ length: max + 1 }, (_, i) => String(i)),
      index: (name) => (INTEGER.test(name) ? Number(name) : undefined),
    };
  }
  return mapFromList(codePointSort(names), 'sorted');
}

/** The labels list file to use among several: the shallowest path, then the first by name. */
function pickShallowest(files: InputFile[]): InputFile | undefined {
  return [...files].sort(
    (a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1),
  )[0];
}

/**
 * Sorts dropped files into labelled (or unlabelled) images, bad samples and ignored files, as the
 * module comment describes; reads no pixels (decoding is `decodeImageSamples`). Never throws on
 * bad input: everything wrong ends up in `bad`.
 * Example: `3/a.png, 7/b.png, labels.txt` (no list given) -> a: 3, b: 7, classSource 'numeric'.
 */
export function listImageSamples(files: readonly InputFile[], opts: ListImageOptions = {}): ImageListing {
  const bad: BadSample[] = [];
  const notes: string[] = [];
  const ignored: string[] = [];
  const images: InputFile[] = [];
  const labelTxts: InputFile[] = [];
  const csvs: InputFile[] = [];
  const metadata: { file: InputFile; labels: string[] }[] = [];
  for (const f of expandArchives(files, bad)) {
    if (f.path === '' || isJunk(f.path)) continue;
    const ext = extensionOf(f.path);
    const name = baseName(f.path).toLowerCase();
    if (sniffImageFormat(f.bytes) !== null || IMAGE_EXTENSIONS.includes(ext)) images.push(f);
    else if (name === 'labels.txt') labelTxts.push(f);
    else if (ext === 'csv') csvs.push(f);
    else if (name === 'metadata.json') {
      const labels = parseMetadataLabels(text(f.bytes));
      if (labels) metadata.push({ file: f, labels });
      else ignored.push(f.path);
    } else ignored.push(f.path);
  }

  // Duplicate paths (the same file dropped twice): keep the first.
  const seen = new Set<string>();
  const unique: InputFile[] = [];
  for (const f of images) {
    if (seen.has(f.path))
      bad.push({ path: f.path, code: 'DUPLICATE', reason: 'The same path was given twice.' });
    else {
      seen.add(f.path);
      unique.push(f);
    }
  }
  unique.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  let list: ClassMap | undefined;
  if (opts.classNames && opts.classNames.length > 0) list = mapFromList(opts.classNames, 'user');
  else {
    const txt = pickShallowest(labelTxts);
    const meta = pickShallowest(metadata.map((m) => m.file));
    if (txt) {
      const names = parseLabelsTxt(text(txt.bytes));
      if (names.length > 0) list = mapFromList(names, 'labels.txt');
      else notes.push(`'${txt.path}' holds no class names; ignored.`);
    }
    if (!list && meta) list = mapFromList(metadata.find((m) => m.file === meta)!.labels, 'metadata.json');
  }
  if (labelTxts.length + metadata.length > 1 && !(opts.classNames && opts.classNames.length > 0))
    notes.push(
      `Several labels lists were given; '${list?.source ?? ''}' from the shallowest folder is used.`,
    );

  // Layout.
  const csv = pickShallowest(csvs);
  if (csvs.length > 1) notes.push(`Several CSV files were given; '${csv!.path}' is used.`);
  let labelling: Labelling;
  let named: { file: InputFile; className: string }[] = [];
  if (csv) {
    labelling = 'csv';
    named = labelFromCsv(csv, unique, bad);
  } else {
    // Class folders are the first level below the images' common folder.
    const dirs = unique.map((f) =>
      dirName(f.path)
        .split('/')
        .filter((p) => p !== ''),
    );
    let common = dirs[0]?.length ?? 0;
    for (const d of dirs) {
      common = Math.min(common, d.length);
      for (let i = 0; i < common; i++) if (d[i] !== dirs[0]![i]) common = i;
    }
    const top = dirs[0]?.[common - 1];
    if (dirs.some((d) => d.length > common)) {
      labelling = 'folders';
      unique.forEach((f, i) => {
        const cls = dirs[i]![common];
        if (cls === undefined) {
          bad.push({ path: f.path, code: 'NO_LABEL', reason: 'The image is not inside a class folder.' });
        } else named.push({ file: f, className: cls });
      });
    } else if (top !== undefined && list?.names.includes(top)) {
      labelling = 'folders';
      named = unique.map((file) => ({ file, className: top }));
    } else {
      labelling = 'none';
      if (top !== undefined) {
        notes.push(
          `Every image sits in one folder, '${top}': read as unlabelled. A labels list naming '${top}' makes it a class.`,
        );
      }
    }
  }

  const entries: ImageEntry[] = [];
  let map: ClassMap | undefined = list;
  if (labelling === 'none') {
    for (const f of unique) entries.push({ path: f.path, bytes: f.bytes, label: null, className: null });
    if (unique.length > 0) notes.push('No labels found: accuracy needs class folders or a labels CSV.');
  } else {
    map ??= mapFromNames(named.map((n) => n.className));
    const limit = opts.numOutputs ?? map.names.length;
    const what =
      opts.numOutputs !== undefined
        ? `the model has ${limit} outputs`
        : `the labels list (${map.source}) names ${limit} classes`;
    for (const { file, className } of named) {
      const label = map.index(className);
      if (label === undefined) {
        bad.push({
          path: file.path,
          code: 'UNKNOWN_CLASS',
          reason: `Class '${className}' is not in the labels list (${map.source}).`,
        });
      } else if (label >= limit) {
        bad.push({
          path: file.path,
          code: 'LABEL_OUT_OF_RANGE',
          reason: `Class '${className}' is output ${label}, but ${what} (0..${limit - 1}).`,
        });
      } else entries.push({ path: file.path, bytes: file.bytes, label, className });
    }
  }
  const numClasses = opts.numOutputs ?? map?.names.length ?? 0;
  if (
    map &&
    opts.numOutputs !== undefined &&
    map.names.length > opts.numOutputs &&
    map.source !== 'numeric'
  ) {
    notes.push(
      `The labels list names ${map.names.length} classes, but the model has ${opts.numOutputs} outputs.`,
    );
  }
  const classNames = Array.from({ length: numClasses }, (_, i) => map?.names[i] ?? String(i));
  return {
    entries,
    labelling,
    classSource: map?.source ?? null,
    classNames,
    numClasses,
    bad,
    ignored,
    notes,
  };
}

/** Images named by a CSV's rows with their class names; unlisted images and missing files go to `bad`. */
function labelFromCsv(
  csv: InputFile,
  images: InputFile[],
  bad: BadSample[],
): { file: InputFile; className: string }[] {
  const dir = dirName(csv.path);
  const byPath = new Map(images.map((f) => [f.path, f]));
  const byBase = new Map<string, InputFile | null>();
  for (const f of images) {
    const b = baseName(f.path);
    byBase.set(b, byBase.has(b) ? null : f);
  }
  const find = (cell: string): InputFile | undefined => {
    const rel = normalizePath(cell.trim());
    if (rel === '') return undefined;
    return (
      byPath.get(dir === '' ? rel : `${dir}/${rel}`) ??
      byPath.get(rel) ??
      byBase.get(baseName(rel)) ??
      undefined
    );
  };
  const rows = parseCsv(text(csv.bytes));
  const labelled = new Map<InputFile, string>();
  const reported = new Set<InputFile>();
  rows.forEach((row, r) => {
    const [fileCell = '', labelCell = ''] = row;
    const file = find(fileCell);
    if (r === 0 && !file) return; // a header row: its first cell names no image
    const where = `${csv.path} row ${r + 1}`;
    if (!file) {
      bad.push({
        path: fileCell,
        code: 'MISSING_FILE',
        reason: `${where} names '${fileCell}', which was not given.`,
      });
      return;
    }
    const label = labelCell.trim();
    if (label === '') {
      if (!labelled.has(file)) reported.add(file);
      bad.push({ path: file.path, code: 'NO_LABEL', reason: `${where} gives no label.` });
      return;
    }
    const prev = labelled.get(file);
    if (prev !== undefined) {
      if (prev !== label) {
        bad.push({
          path: file.path,
          code: 'DUPLICATE',
          reason: `${where} labels it '${label}', an earlier row '${prev}'; the first is kept.`,
        });
      }
      return;
    }
    labelled.set(file, label);
  });
  const out: { file: InputFile; className: string }[] = [];
  for (const f of images) {
    const label = labelled.get(f);
    if (label === undefined) {
      if (!reported.has(f))
        bad.push({ path: f.path, code: 'NO_LABEL', reason: `Not listed in '${csv.path}'.` });
    } else out.push({ file: f, className: label });
  }
  return out;
}

/**
 * Images preprocessed for one model: bytes `[h, w, c]` per sample (see preprocess.ts) and the value
 * map that turns them into the model's input. Labels can index up to 2^31 classes (ImageNet's 1,000
 * do not fit the `.plss` u8 labels).
 */
export interface ImageSampleSet {
  count: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  pixels: Uint8Array;
  labels: Int32Array | null;
  transform: PixelTransform;
  /** Source path of each sample. */
  paths: string[];
  classNames: string[];
}

export interface DecodeImagesOptions {
  /** Aborting it stops between images with an `Error` named 'AbortError'. */
  signal?: AbortSignal;
  /** Called after each image with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Awaited every `yieldEveryImages` images (default 16), e.g. `tf.nextFrame`. */
  yieldEvery?: () => Promise<void>;
  yieldEveryImages?: number;
}

/**
 * Decodes and preprocesses a listing's images into an `ImageSampleSet`; images the decoder rejects
 * are skipped and added to `bad` (with the listing's own bad samples first).
 */
export async function decodeImageSamples(
  listing: ImageListing,
  decode: ImageDecoder,
  preprocess: PreprocessOptions,
  opts: DecodeImagesOptions = {},
): Promise<{ set: ImageSampleSet; bad: BadSample[] }> {
  const { height, width, channels } = preprocess;
  const per = height * width * channels;
  const bad = [...listing.bad];
  const kept: { path: string; label: number | null; pixels: Uint8Array }[] = [];
  const every = Math.max(1, opts.yieldEveryImages ?? 16);
  const total = listing.entries.length;
  for (let i = 0; i < total; i++) {
    if (opts.signal?.aborted) throw abortError('Reading the images was cancelled.');
    const e = listing.entries[i]!;
    try {
      const format = sniffImageFormat(e.bytes);
      if (format === null) throw new Error('the content is not a PNG, JPEG, GIF, BMP or WebP image');
      checkImageSize(e.bytes, e.path);
      const img = await decode(e.bytes, e.path);
      kept.push({ path: e.path, label: e.label, pixels: preprocessImage(img, preprocess) });
    } catch (err) {
      const why = (err instanceof Error ? err.message : String(err)).replace(/\.$/, '');
      const code = badCode(err, 'UNREADABLE');
      bad.push({
        path: e.path,
        code,
        reason: code === 'UNREADABLE' ? `Unreadable image: ${why}.` : `${why}.`,
      });
    }
    opts.onProgress?.(i + 1, total);
    if (opts.yieldEvery && (i + 1) % every === 0 && i + 1 < total) await opts.yieldEvery();
  }
  const pixels = new Uint8Array(kept.length * per);
  kept.forEach((k, i) => pixels.set(k.pixels, i * per));
  const labels = listing.labelling === 'none' ? null : Int32Array.from(kept, (k) => k.label ?? 0);
  return {
    set: {
      count: kept.length,
      height,
      width,
      channels,
      numClasses: listing.numClasses,
      pixels,
      labels,
      transform: pixelTransform(preprocess.range, channels),
      paths: kept.map((k) => k.path),
      classNames: listing.classNames,
    },
    bad,
  };
}

/** An image set as a `SampleSource` (bytes through its value map). */
export function imageSetSource(set: ImageSampleSet): SampleSource {
  return byteSource(set, set.transform);
}

/**
 * Files -> listing -> decoded set in one call (the CLI's and the page's path). The listing is
 * returned too, for its notes, ignored files and class source.
 */
export async function loadImageSamples(
  files: readonly InputFile[],
  decode: ImageDecoder,
  preprocess: PreprocessOptions,
  opts: ListImageOptions & DecodeImagesOptions = {},
): Promise<{ set: ImageSampleSet; bad: BadSample[]; listing: ImageListing }> {
  const listing = listImageSamples(files, opts);
  const { set, bad } = await decodeImageSamples(listing, decode, preprocess, opts);
  return { set, bad, listing };
}
