/**
 * The ONNX format plug-in: claims a file whose bytes look like a serialized ModelProto (sniffed by
 * content, never by the `.onnx` extension), decodes it with onnx-proto, reads external-data files
 * dropped with it, and converts the op graph to artifacts (import.ts) and their IR, built once.
 */
import type { InputFile } from '../../ir/artifacts';
import { buildModelIR } from '../../ir/build-ir';
import type { ModelFormat, OpenedArtifacts } from '../format';
import { onnxToArtifacts } from './import';
import { decodeModel, looksLikeOnnx, onnx } from './proto';

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

/**
 * The external-data files an ONNX model names (`location` of its initializers), relative to the
 * model's folder, for readers that fetch the files beside a model (the CLI); `[]` if it cannot be decoded.
 */
export function onnxExternalLocations(bytes: Uint8Array): string[] {
  try {
    const model = onnx.ModelProto.decode(bytes);
    const out = new Set<string>();
    for (const t of model.graph?.initializer ?? []) {
      const loc = t.externalData?.find((e) => e.key === 'location')?.value;
      if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL && loc) out.add(loc);
    }
    return [...out];
  } catch {
    return [];
  }
}
