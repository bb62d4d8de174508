/**
 * How the CLI writes models (prune, finetune): `--format` and `--quantize` checked the same way, the
 * output written atomically through write-output.ts, and the bytes compared with the files opened.
 */
import { basename } from 'node:path';
import type { InputFile, ModelArtifactsData } from '../core/ir/artifacts';
import { writeTfjsModel, type TfjsQuantization } from '../core/io/export-tfjs';
import { writeKerasH5 } from '../core/io/keras-h5';
import { writeKerasV3 } from '../core/io/keras-v3';
import { writeOnnx } from '../core/io/onnx/export';
import { sourceStorageOf } from '../core/io/source-storage';
import { writeOutputFile, writeOutputFolder } from '../node/write-output';
import { UsageError } from './analysis-commands';

/** `--quantize`: undefined keeps each weight's opened storage; Keras files hold float32 only. */
export function parseQuantize(v: string | undefined, format: string): TfjsQuantization | undefined {
  if (v === undefined) return undefined;
  if (!['none', 'float16', 'uint8', 'uint16'].includes(v)) {
    throw new UsageError(`--quantize must be none, float16, uint8 or uint16, got '${v}'.`);
  }
  if (v !== 'none' && format !== 'tfjs') {
    throw new UsageError('--quantize applies to --format tfjs only (Keras files keep float32 weights).');
  }
  return v as TfjsQuantization;
}

/** `--format`: tfjs (default), keras, h5, or onnx (a model opened from an ONNX file, written back into it). */
export function parseFormat(v: string | undefined): 'tfjs' | 'keras' | 'h5' | 'onnx' {
  const format = v ?? 'tfjs';
  if (format !== 'tfjs' && format !== 'keras' && format !== 'h5' && format !== 'onnx') {
    throw new UsageError(`--format must be tfjs, keras, h5 or onnx, got '${format}'.`);
  }
  return format;
}

/**
 * Writes a model as `--format` asks, atomically (write-output.ts): a TF.js folder (weights stored as
 * `opened` stored them unless `quantize` says otherwise) or one .keras / .h5 file named by `out`.
 */
export async function writeModelOutput(
  out: string,
  artifacts: ModelArtifactsData,
  format: 'tfjs' | 'keras' | 'h5' | 'onnx',
  quantize: TfjsQuantization | undefined,
  opened: ModelArtifactsData,
  force: boolean,
  source: readonly InputFile[] = [],
): Promise<{ path: string; bytes: Uint8Array }[]> {
  if (format === 'tfjs') {
    const source = sourceStorageOf(opened);
    const files = writeTfjsModel(artifacts, {
      ...(quantize ? { quantize } : {}),
      ...(source ? { source } : {}),
    });
    await writeOutputFolder(out, files, { force });
    return files;
  }
  if (format === 'onnx') {
    // The user's own .onnx (from `source`, the files opened) at --out, the kept indices beside it.
    const [model, sidecar] = writeOnnx(source, artifacts);
    const sidecarPath = `${out.replace(/\.onnx$/i, '')}.prunelab.json`;
    await writeOutputFile(out, model!.bytes, { force });
    await writeOutputFile(sidecarPath, sidecar!.bytes, { force });
    return [
      { path: basename(out), bytes: model!.bytes },
      { path: basename(sidecarPath), bytes: sidecar!.bytes },
    ];
  }
  // A single file, named by --out (Keras 3 .keras archive or Keras 2 full-model .h5).
  const bytes = format === 'keras' ? await writeKerasV3(artifacts) : await writeKerasH5(artifacts);
  await writeOutputFile(out, bytes, { force });
  return [{ path: basename(out), bytes }];
}

/** "123,456 bytes, 42.0% of the 294,000 bytes opened". */
export function bytesLine(written: number, opened: number): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return opened > 0
    ? `${n(written)} bytes, ${((written / opened) * 100).toFixed(1)}% of the ${n(opened)} bytes opened`
    : `${n(written)} bytes`;
}
