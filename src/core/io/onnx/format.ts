/**
 * The ONNX format plug-in: claims a file whose bytes look like a serialized ModelProto (sniffed by
 * content, never by the `.onnx` extension), decodes it with onnx-proto, reads external-data files
 * dropped with it, and converts the op graph to artifacts (import.ts) and their IR, built once.
 */
import type { InputFile } from '../../ir/artifacts';
import { buildModelIR } from '../../ir/build-ir';
import type { ModelFormat, OpenedArtifacts } from '../format';
import { onnxToArtifacts } from './import';
import { decodeModel, looksLikeOnnx } from './proto';

/** The ONNX model among dropped files (the first that sniffs as a ModelProto), if any. */
export function findOnnxModel(files: readonly InputFile[]): InputFile | undefined {
  return files.find((f) => looksLikeOnnx(f.bytes));
}

/** Opens an ONNX model (and the external-data files beside it) as artifacts and IR. */
export function readOnnx(files: InputFile[]): Promise<OpenedArtifacts> {
  const file = findOnnxModel(files)!;
  const artifacts = onnxToArtifacts(decodeModel(file), file, files);
  return Promise.resolve({ artifacts, ir: buildModelIR(artifacts) });
}

export const onnxFormat: ModelFormat<OpenedArtifacts> = {
  id: 'onnx',
  description: 'an ONNX .onnx model',
  match: (files) => findOnnxModel(files) !== undefined,
  open: readOnnx,
};
