import { Inflate, strFromU8, zip, zipSync, type Zippable } from 'fflate';
import type { InputFile, OutputFile } from '../ir/artifacts';
import { ModelLoadError } from './errors';
import { normalizePath } from './format';
import {
  formatBytes,
  formatLimit,
  MAX_ZIP_ENTRIES,
  MAX_ZIP_RATIO,
  MAX_ZIP_TOTAL_BYTES,
  ZIP_RATIO_EXEMPT_BYTES,
} from './limits';

/** True when the bytes start like a zip archive: a local file header `PK\x03\x04` (or an empty archive's `PK\x05\x06`). */
export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    ((bytes[2] === 0x03 && bytes[3] === 0x04) || (bytes[2] === 0x05 && bytes[3] === 0x06))
  );
}

/**
 * Zips files under their paths (deflated; shard .bin files of float weights barely shrink, JSON does).
 * `level: 0` stores them uncompressed, as Keras writes .keras archives (h5py then reads the weights
 * file straight out of the zip without inflating it).
 */
export function zipFiles(
  files: OutputFile[],
  opts: { level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 } = {},
): Uint8Array {
  const entries: Zippable = {};
  for (const f of files) {
    const path = normalizePath(f.path);
    if (path in entries) throw new Error(`zipFiles: two files named '${path}'.`);
    entries[path] = f.bytes;
  }
  return zipSync(entries, { level: opts.level ?? 6 });
}

/**
 * `zipFiles`, the same bytes, with the compression done in Web Workers (fflate's async `zip`) where the
 * page has them, so zipping 80 MB of weights (2.4 s of deflate) does not hold the page's thread; on the
 * calling thread where there are no Workers (Node, tests). The inputs are copied, never detached.
 */
export async function zipFilesAsync(
  files: OutputFile[],
  opts: { level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 } = {},
): Promise<Uint8Array> {
  if (typeof Worker === 'undefined') return zipFiles(files, opts);
  const entries: Zippable = {};
  for (const f of files) {
    const path = normalizePath(f.path);
    if (path in entries) throw new Error(`zipFiles: two files named '${path}'.`);
    entries[path] = f.bytes;
  }
  return new Promise((resolve, reject) => {
    zip(entries, { level: opts.level ?? 6, consume: false }, (err, data) =>
      err ? reject(err) : resolve(data),
    );
  });
}

/** Shared by an archive and the archives nested in it, so that nesting cannot multiply the limits. */
export interface ZipBudget {
  /** Uncompressed bytes still allowed (starts at `MAX_ZIP_TOTAL_BYTES`). */
  bytesLeft: number;
}

/** A fresh budget of `MAX_ZIP_TOTAL_BYTES`. */
export function zipBudget(): ZipBudget {
  return { bytesLeft: MAX_ZIP_TOTAL_BYTES };
}

/** One central-directory record, as declared (nothing inflated yet). */
interface ZipEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zip stores it) of the bytes, unsigned. */
export function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * Where an entry's name leads, or why it may not be followed: `\` counts as a separator (zips written
 * on Windows), and an absolute path (`/etc/passwd`, `\\server\x`), a drive letter (`C:`) or a `..` that
 * climbs above the archive's top is an escape. `a/../b` stays inside and is `b`.
 */
export function confinedPath(name: string): { path: string } | { escape: string } {
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/')) return { escape: 'an absolute path' };
  if (/^[A-Za-z]:/.test(slashed)) return { escape: 'a drive letter' };
  const out: string[] = [];
  for (const part of slashed.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return { escape: "a '..' that climbs out of it" };
      out.pop();
    } else out.push(part);
  }
  return { path: out.join('/') };
}

/** Quotes an entry name for a message: cut at 120 characters, control characters escaped. */
function quoteName(name: string): string {
  const clean = [...name]
    .map((c) => (c.charCodeAt(0) < 0x20 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c))
    .join('');
  return `'${clean.length > 120 ? `${clean.slice(0, 117)}...` : clean}'`;
}

/** Reads the central directory: every entry's declared name, sizes, CRC and where its data is. */
function readCentralDirectory(
  bytes: Uint8Array,
  archiveName: string,
  bad: (why: string) => ModelLoadError,
): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => u32(at) + u32(at + 4) * 2 ** 32;
  // The end record is the last 22 bytes, or earlier by a comment of up to 65,535 bytes.
  let end = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 0xffff; at--) {
    if (u32(at) === 0x06054b50 && at + 22 + u16(at + 20) <= bytes.length) {
      end = at;
      break;
    }
  }
  if (end < 0) throw bad('no end-of-central-directory record');
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0) throw bad('a multi-volume (split) archive');
  let count = u16(end + 10);
  let dirSize = u32(end + 12);
  let dirOffset = u32(end + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // Zip64: a locator just before the end record points to the zip64 end record.
    const loc = end - 20;
    if (loc < 0 || u32(loc) !== 0x07064b50) throw bad('a zip64 archive without its zip64 locator');
    const z = u64(loc + 8);
    if (z + 56 > bytes.length || u32(z) !== 0x06064b50) throw bad('a zip64 end record out of place');
    count = u64(z + 32);
    dirSize = u64(z + 40);
    dirOffset = u64(z + 48);
  }
  if (count > MAX_ZIP_ENTRIES) {
    throw new ModelLoadError(
      'LIMIT_EXCEEDED',
      `'${archiveName}' declares ${count} entries, over the limit of ${MAX_ZIP_ENTRIES} for one archive.`,
      { file: archiveName },
    );
  }
  if (dirOffset + dirSize > end)
    throw bad(`its central directory (${dirSize} bytes at ${dirOffset}) lies past its end`);
  const entries: ZipEntry[] = [];
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || u32(at) !== 0x02014b50) throw bad(`central directory record ${i + 1} is damaged`);
    const flags = u16(at + 8);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    const commentLen = u16(at + 32);
    if (at + 46 + nameLen + extraLen + commentLen > end)
      throw bad(`central directory record ${i + 1} is cut short`);
    const name = strFromU8(bytes.subarray(at + 46, at + 46 + nameLen), (flags & 0x800) === 0);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    let localOffset = u32(at + 42);
    if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
      // The zip64 extra field (id 1) holds, in this order, the fields that overflowed.
      for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; e += 4 + u16(e + 2)) {
        if (u16(e) !== 1) continue;
        let f = e + 4;
        if (size === 0xffffffff) {
          size = u64(f);
          f += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(f);
          f += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(f);
        break;
      }
    }
    entries.push({
      name,
      flags,
      method: u16(at + 10),
      crc: u32(at + 16),
      compressedSize,
      size,
      localOffset,
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Inflates one deflated entry into exactly `size` bytes, stopping as soon as it would produce more. */
function inflateBounded(data: Uint8Array, size: number, tooBig: () => ModelLoadError): Uint8Array {
  const out = new Uint8Array(size);
  let filled = 0;
  const stream = new Inflate((chunk) => {
    if (filled + chunk.length > size) throw tooBig();
    out.set(chunk, filled);
    filled += chunk.length;
  });
  // Pushed in slices, so that a lying entry is caught after at most one slice's worth of output.
  const SLICE = 1 << 16;
  for (let i = 0; i < data.length; i += SLICE) {
    stream.push(data.subarray(i, Math.min(data.length, i + SLICE)), i + SLICE >= data.length);
  }
  if (data.length === 0) stream.push(data, true);
  if (filled !== size)
    throw new Error(`it inflates to ${filled} bytes, not the ${size} its directory declares`);
  return out;
}

export interface UnzipOptions {
  /** Shared with nested archives; default a fresh `zipBudget()`. */
  budget?: ZipBudget;
}

/**
 * Expands a zip into files with their paths inside it, skipping folders and macOS `__MACOSX/` / `._*`
 * resource forks. Everything is checked against its declaration before anything is inflated:
 * entry count (`MAX_ZIP_ENTRIES`), total declared size (`MAX_ZIP_TOTAL_BYTES`, shared with nested
 * archives through `budget`) and each entry's ratio (`MAX_ZIP_RATIO`) are LIMIT_EXCEEDED; an entry
 * whose name leaves the archive (`../x`, `/etc/passwd`, `C:\x`) is PATH_ESCAPE; while inflating, an entry
 * that produces more than it declared is stopped, and a CRC-32 mismatch, overlapping entries, a
 * truncated or corrupt archive are BAD_ARCHIVE naming `archiveName` (and the entry).
 */
export function unzipFiles(bytes: Uint8Array, archiveName: string, opts: UnzipOptions = {}): InputFile[] {
  const where = { file: archiveName };
  const bad = (why: string) =>
    new ModelLoadError(
      'BAD_ARCHIVE',
      `'${archiveName}' is not a readable zip archive (corrupt or truncated?): ${why}.`,
      where,
    );
  const limit = (message: string) => new ModelLoadError('LIMIT_EXCEEDED', message, where);
  const entries = readCentralDirectory(bytes, archiveName, bad);
  const kept: { entry: ZipEntry; path: string }[] = [];
  let declared = 0;
  const budget = opts.budget ?? zipBudget();
  for (const entry of entries) {
    const n = quoteName(entry.name);
    if (entry.name.includes('\0')) throw bad(`entry ${n} has a NUL character in its name`);
    const confined = confinedPath(entry.name);
    if ('escape' in confined) {
      throw new ModelLoadError(
        'PATH_ESCAPE',
        `'${archiveName}' holds an entry ${n} whose path leaves the archive (${confined.escape}); nothing was extracted.`,
        where,
      );
    }
    if (isJunk(entry.name)) continue;
    if (entry.flags & 1) throw bad(`entry ${n} is encrypted`);
    if (entry.method !== 0 && entry.method !== 8) {
      throw bad(
        `entry ${n} uses compression method ${entry.method}; only stored (0) and deflate (8) are read`,
      );
    }
    if (entry.method === 0 && entry.compressedSize !== entry.size) {
      throw bad(`stored entry ${n} declares ${entry.size} bytes but holds ${entry.compressedSize}`);
    }
    const ratio = entry.size / Math.max(1, entry.compressedSize);
    if (entry.size > ZIP_RATIO_EXEMPT_BYTES && ratio > MAX_ZIP_RATIO) {
      throw limit(
        `'${archiveName}' entry ${n} declares ${formatBytes(entry.size)} from ${formatBytes(entry.compressedSize)} ` +
          `(ratio ${Math.round(ratio)}:1), over the ${MAX_ZIP_RATIO}:1 compression ratio limit (a zip bomb?).`,
      );
    }
    declared += entry.size;
    if (declared > budget.bytesLeft) {
      throw limit(
        `'${archiveName}' expands to more than ${formatBytes(declared)} by entry ${n}, over the ` +
          `${formatLimit(MAX_ZIP_TOTAL_BYTES)} limit for an archive${opts.budget ? ' and the archives in it' : ''}.`,
      );
    }
    kept.push({ entry, path: confined.path });
  }
  // Entries' data must not overlap: overlapping entries are how small zips expand to terabytes.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const spans = kept.map(({ entry, path }) => {
    const at = entry.localOffset;
    if (at + 30 > bytes.length || view.getUint32(at, true) !== 0x04034b50) {
      throw bad(`entry ${quoteName(path)} has no local header where the directory says (byte ${at})`);
    }
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    const stop = start + entry.compressedSize;
    if (stop > bytes.length) throw bad(`entry ${quoteName(path)} runs past the end of the archive`);
    return { start, stop, path };
  });
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.start < sorted[i - 1]!.stop) {
      throw bad(
        `entries ${quoteName(sorted[i - 1]!.path)} and ${quoteName(sorted[i]!.path)} overlap (a zip bomb?)`,
      );
    }
  }
  const seen = new Set<string>();
  const out = kept.map(({ entry, path }, i) => {
    if (seen.has(path)) throw bad(`two entries are named ${quoteName(path)}`);
    seen.add(path);
    const data = bytes.subarray(spans[i]!.start, spans[i]!.stop);
    let content: Uint8Array;
    try {
      content =
        entry.method === 0
          ? data.slice()
          : inflateBounded(data, entry.size, () =>
              bad(`entry ${quoteName(path)} inflates to more than the ${entry.size} bytes it declares`),
            );
    } catch (e) {
      if (e instanceof ModelLoadError) throw e;
      throw bad(`entry ${quoteName(path)} cannot be inflated: ${e instanceof Error ? e.message : String(e)}`);
    }
    const crc = crc32(content);
    if (crc !== entry.crc) {
      throw bad(
        `entry ${quoteName(path)} fails its CRC-32 check (0x${crc.toString(16).padStart(8, '0')}, ` +
          `the directory says 0x${entry.crc.toString(16).padStart(8, '0')})`,
      );
    }
    return { path, bytes: content };
  });
  budget.bytesLeft -= declared;
  return out;
}

function isJunk(name: string): boolean {
  const path = normalizePath(name);
  if (name.endsWith('/') || path === '') return true; // a folder entry
  const parts = path.split('/');
  return parts[0] === '__MACOSX' || parts[parts.length - 1]!.startsWith('._') || parts.includes('.DS_Store');
}
