/**
 * The CLI's inputs, opened so that every typed error names the file the user gave: a message about a
 * layer or a shard gets `(in '<path>')` when it does not already name that path's file.
 */
import { basename } from 'node:path';
import type { InputFile } from '../core/ir/artifacts';
import { isModelLoadError, ModelLoadError } from '../core/io/errors';
import { loadModel, type OpenedModel } from '../core/load';
import { readModelInput } from '../node/fs-files';
import { filesBytes, sourceStorageOf } from '../core/io/source-storage';
import { isZip } from '../core/io/zip';

/** Runs `fn`; a typed error from it that does not name `path` is rethrown naming it. */
export async function namingInput<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isModelLoadError(e) || e.message.includes(basename(path))) throw e;
    const where: { file?: string; layer?: string } = { file: e.file ?? path };
    if (e.layer !== undefined) where.layer = e.layer;
    throw new ModelLoadError(e.code, `${e.message} (in '${path}')`, where);
  }
}

/**
 * Opens a model named on the command line (model.json, folder, zip, .h5, .keras) and writes what
 * the loader warns about (NaN/Inf weights naming the layers, layers tfjs cannot build) to stderr as
 * `prunelab <command>: warning: ...`.
 */
export async function openModelAt(path: string, command: string): Promise<OpenedInput> {
  let bytes = 0;
  let zipped = false;
  let files: InputFile[] = [];
  const m = await namingInput(path, async () => {
    files = await readModelInput(path);
    bytes = filesBytes(files);
    zipped = files.some((f) => isZip(f.bytes));
    return loadModel(files);
  });
  for (const w of m.warnings) process.stderr.write(`prunelab ${command}: warning: ${w}\n`);
  // A TF.js folder counts its model.json and shards only (it may hold other files); a zip, itself.
  const tfjsBytes = zipped ? undefined : sourceStorageOf(m.artifacts)?.bytes;
  return { ...m, inputBytes: tfjsBytes ?? bytes, files };
}

/**
 * An opened model and the bytes of the files it was read from: what exports are compared with;
 * `files` themselves for `--format onnx`, which writes into the user's own ONNX file.
 */
export type OpenedInput = OpenedModel & { inputBytes: number; files: InputFile[] };
