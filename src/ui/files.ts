import type { InputFile } from '../core/ir/artifacts';

/** Reads browser File objects into core InputFiles, keeping a dropped folder's relative path. */
export async function readFiles(files: Iterable<File>, paths?: Map<File, string>): Promise<InputFile[]> {
  return Promise.all(
    [...files].map(async (f) => ({
      path: paths?.get(f) ?? (f.webkitRelativePath || f.name),
      bytes: new Uint8Array(await f.arrayBuffer()),
    })),
  );
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Walks a dropped folder (recursively) and collects its files with their paths. */
async function walk(entry: FileSystemEntry, prefix: string, out: Map<File, string>): Promise<void> {
  if (entry.isFile) {
    out.set(await entryFile(entry as FileSystemFileEntry), prefix + entry.name);
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns at most 100 entries a call: keep reading until it returns none.
    for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** Collects every file of a drop: loose files, several files at once, or whole folders. */
export async function filesFromDrop(dt: DataTransfer): Promise<InputFile[]> {
  const entries = [...dt.items]
    .filter((i) => i.kind === 'file')
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null));
  if (entries.length > 0 && entries.every((e) => e !== null) && entries.some((e) => e?.isDirectory)) {
    const out = new Map<File, string>();
    for (const e of entries) if (e) await walk(e, '', out);
    return readFiles(out.keys(), out);
  }
  return readFiles(dt.files);
}
