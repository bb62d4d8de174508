import { unzipSync, zipSync, type Zippable } from 'fflate';
import type { InputFile, OutputFile } from '../ir/artifacts';
import { ModelLoadError } from './errors';
import { normalizePath } from './format';

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
 * Expands a zip into files with their paths inside it, skipping folders and macOS `__MACOSX/` / `._*`
 * resource forks; throws BAD_ARCHIVE naming `archiveName` when the archive is corrupt or truncated.
 */
export function unzipFiles(bytes: Uint8Array, archiveName: string): InputFile[] {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (f) => !isJunk(f.name),
    });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ModelLoadError(
      'BAD_ARCHIVE',
      `'${archiveName}' is not a readable zip archive (corrupt or truncated?): ${why}.`,
      { file: archiveName },
    );
  }
  return Object.entries(entries).map(([path, data]) => ({ path: normalizePath(path), bytes: data }));
}

function isJunk(name: string): boolean {
  const path = normalizePath(name);
  if (name.endsWith('/') || path === '') return true; // a folder entry
  const parts = path.split('/');
  return parts[0] === '__MACOSX' || parts[parts.length - 1]!.startsWith('._') || parts.includes('.DS_Store');
}
