/**
 * The CLI's inputs, opened so that every typed error names the file the user gave: a message about a
 * layer or a shard gets `(in '<path>')` when it does not already name that path's file.
 */
import { basename } from 'node:path';
import { isModelLoadError, ModelLoadError } from '../core/io/errors';
import { loadModel, type OpenedModel } from '../core/load';
import { readModelInput } from '../node/fs-files';

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
export async function openModelAt(path: string, command: string): Promise<OpenedModel> {
  const m = await namingInput(path, async () => loadModel(await readModelInput(path)));
  for (const w of m.warnings) process.stderr.write(`prunelab ${command}: warning: ${w}\n`);
  return m;
}
