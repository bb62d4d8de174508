import type { InputFile, ModelArtifactsData } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import { ModelLoadError } from './errors';
import { describeFiles, hasIR, type AnyModelFormat, type OpenedArtifacts } from './format';
import { kerasH5Format } from './keras-h5';
import { kerasV3Format } from './keras-v3';
import { onnxFormat } from './onnx/format';
import { tfjsFormat } from './tfjs-format';
import { isZip, unzipFiles, zipBudget } from './zip';

/**
 * The registered format plug-ins, asked in order; the first whose `match` says yes opens the files.
 * Put specific formats first (ONNX sniffs a protobuf ModelProto, which no other format's bytes resemble): tfjs claims any JSON so that it can explain a bad model.json, and a Keras 3
 * `.keras` (a zip, expanded below into config.json + model.weights.h5) would otherwise reach it; the
 * .keras plug-in goes before the .h5 one, which claims any HDF5 file (model.weights.h5 is one).
 */
export const formats: readonly AnyModelFormat[] = [onnxFormat, kerasV3Format, kerasH5Format, tfjsFormat];

/**
 * Replaces each zip among the files (sniffed by content) by its entries, e.g. a dropped `mymodel.zip`
 * holding `mymodel/model.json` and `mymodel/group1-shard1of1.bin` becomes those two files. All the
 * archives of one drop share one `MAX_ZIP_TOTAL_BYTES` budget; a zip inside a zip stays a file (no
 * model format is a zip of zips), so nesting cannot multiply anything.
 */
export function expandArchives(files: InputFile[]): InputFile[] {
  const budget = zipBudget();
  return files.flatMap((f) => (isZip(f.bytes) ? unzipFiles(f.bytes, f.path, { budget }) : [f]));
}

/** Opens a model from whatever the user dropped (files, folders, zips, any order) as artifacts. */
export async function openModelFiles(
  files: InputFile[],
  registered: readonly AnyModelFormat[] = formats,
): Promise<ModelArtifactsData> {
  const opened = await openWithPlugin(files, registered);
  return hasIR(opened) ? opened.artifacts : opened;
}

/**
 * Opens a model from whatever the user dropped as artifacts and their IR, built once: by the
 * plug-in that validated with it, or here for one that returns artifacts alone.
 */
export async function openModel(
  files: InputFile[],
  registered: readonly AnyModelFormat[] = formats,
): Promise<OpenedArtifacts> {
  const opened = await openWithPlugin(files, registered);
  return hasIR(opened) ? opened : { artifacts: opened, ir: buildModelIR(opened) };
}

/** The first plug-in whose `match` says yes, and what its `open` returned. */
async function openWithPlugin(
  files: InputFile[],
  registered: readonly AnyModelFormat[],
): Promise<OpenedArtifacts | ModelArtifactsData> {
  if (files.length === 0)
    throw new ModelLoadError(
      'NO_FILES',
      'No files were given: drop a Keras .keras or .h5 file, an ONNX .onnx file, or a TF.js model.json with its .bin weight files, or a zip of them.',
    );
  const expanded = expandArchives(files);
  if (expanded.length === 0) {
    const names = files.map((f) => `'${f.path}'`).join(', ');
    const what = files.length === 1 ? `The zip archive ${names} holds` : `The zip archives ${names} hold`;
    throw new ModelLoadError('NO_FILES', `${what} no files, only folders if anything.`, {
      file: files[0]!.path,
    });
  }
  const format = registered.find((f) => f.match(expanded));
  if (!format) {
    const wanted = registered.map((f) => f.description).join(' or ');
    throw new ModelLoadError('UNRECOGNIZED_FORMAT', `None of the ${describeFiles(expanded)} is ${wanted}.`);
  }
  return format.open(expanded);
}
