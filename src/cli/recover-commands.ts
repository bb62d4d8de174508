/**
 * CLI pieces of issue 5: reading `--samples` as a `.plss` set or an image folder / zip (decoded
 * with the Node decoder, preprocessing guessed from the model's input shape), and
 * `prunelab finetune`, which recovers a pruned model and writes it with its provenance.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as tf from '@tensorflow/tfjs';
import type { InputFile } from '../core/ir/artifacts';
import type { SamplesModel } from '../core/evaluate/samples-fit';
import { openSampleFiles } from '../core/evaluate/open-samples';
import { splitSource, type SampleSource } from '../core/evaluate/sample-source';
import { outputClasses } from '../core/evaluate/outputs';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { artifactsAfterFineTune, fineTune, fineTuneRecord, type OptimizerName } from '../core/train';
import { decodeImageNode } from '../node/decode-image';
import { readModelInput } from '../node/fs-files';
import { checkOutput } from '../node/write-output';
import { parseFormat, parseQuantize, writeModelOutput } from './output';
import { UsageError } from './analysis-commands';
import { namingInput, openModelAt } from './inputs';

export const FINETUNE_HELP = `  prunelab finetune <pruned model> --samples <dir|zip|set.plss> --out <dir|file> [--teacher <original model>]
                    [--epochs 1] [--batch-size 32] [--lr 0.001] [--optimizer adam|sgd|momentum]
                    [--val-split 0.2] [--temperature 4] [--alpha 0.5]
                    [--format tfjs|keras|h5|onnx] [--quantize none|float16|uint8|uint16] [--force] [--json]
      Fine-tunes a pruned model on the samples (a held-out --val-split scores each epoch; the best
      weights are kept), distilled from --teacher when given (no labels needed then), and writes it
      to --out with its provenance record and a finetune entry, as prune does: --format tfjs (a
      folder, the default; weights stored as the opened model stored them unless --quantize),
      keras (one .keras file), h5 (one .h5 file) or onnx (a model opened from a .onnx: its own
      file with the fine-tuned weights, and <name>.prunelab.json beside it). --json prints the
      validation accuracy (and KL from the teacher) before and after. An existing output is refused unless --force, which
      replaces it whole once training is done.`;

/** Samples read from the command line, as the model reads them, with any skipped images. */
export interface CliSamples {
  source: SampleSource;
  /** Skipped image files and why (`{path, reason}`), as `evaluate --json` has always listed them. */
  bad: { path: string; reason: string }[];
  /** Everything the user should be told: skipped files, notes on labels; stderr, or `--json`'s `warnings`. */
  warnings: string[];
  kind: 'plss' | 'images';
}

/** What a live model takes and predicts, for `openSampleFiles` / `checkSamplesFit`. */
function samplesModelOfLive(model: tf.LayersModel): SamplesModel {
  return { inputShape: (model.inputs[0]?.shape ?? []).slice(1), numClasses: outputClasses(model) };
}

/**
 * `--samples`: a `.plss` file (by its magic), or an image folder / zip (images sniffed by content)
 * preprocessed for `model`'s input shape, opened and checked by the page's own `openSampleFiles`:
 * BAD_SAMPLES for no samples, labels past the model's outputs or another input size,
 * LIMIT_EXCEEDED / PATH_ESCAPE when every image was refused for that.
 */
export async function readSamples(path: string, model: tf.LayersModel): Promise<CliSamples> {
  const files: InputFile[] = await readModelInput(path);
  const opened = await openSampleFiles(files, samplesModelOfLive(model), decodeImageNode);
  // Skipped images are the warnings written `'<path>': <reason>` (open-samples.ts).
  const bad = opened.warnings.flatMap((w) => {
    const m = /^'([^']+)': (.+)$/s.exec(w);
    return m ? [{ path: m[1]!, reason: m[2]! }] : [];
  });
  return { source: opened.source, bad, warnings: opened.warnings, kind: opened.kind };
}

/** Writes sample warnings to stderr (text mode; `--json` carries them in its object instead). */
export function warnSamples(command: string, warnings: readonly string[], max = 5): void {
  if (warnings.length === 0) return;
  const shown = warnings.slice(0, max).map((w) => (w.length > 300 ? `${w.slice(0, 300)}…` : w));
  const more = warnings.length > max ? ` (and ${warnings.length - max} more)` : '';
  process.stderr.write(`prunelab ${command}: warning: ${shown.join(' ')}${more}\n`);
}

function num(v: string | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${what} must be a number, got '${v}'.`);
  return n;
}

/** `prunelab finetune`. */
export async function finetune(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      samples: { type: 'string' },
      teacher: { type: 'string' },
      out: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      optimizer: { type: 'string' },
      'val-split': { type: 'string' },
      temperature: { type: 'string' },
      alpha: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      format: { type: 'string' },
      quantize: { type: 'string' },
    },
    allowPositionals: true,
  });
  const format = parseFormat(values.format);
  const quantize = parseQuantize(values.quantize, format);
  if (!positionals[0])
    throw new UsageError('finetune needs the pruned model (a model.json, a folder or a zip).');
  if (!values.samples) throw new UsageError('finetune needs --samples <dir|zip|set.plss>.');
  if (!values.out) throw new UsageError('finetune needs --out <dir>.');
  const optimizer = (values.optimizer ?? 'adam') as OptimizerName;
  if (!['adam', 'sgd', 'momentum'].includes(optimizer))
    throw new UsageError(`--optimizer must be adam, sgd or momentum, got '${optimizer}'.`);
  const epochs = num(values.epochs, 1, 'epochs');
  const batchSize = num(values['batch-size'], 32, 'batch-size');
  const valSplit = num(values['val-split'], 0.2, 'val-split');
  const force = values.force === true;
  // Refused before training, which takes long; the folder is swapped in whole at the end.
  await checkOutput(values.out, format === 'tfjs' ? 'folder' : 'file', force);
  const opened = await openModelAt(positionals[0], 'finetune');
  const model = await loadLayersModelFromArtifacts(opened.artifacts);
  let teacher: tf.LayersModel | undefined;
  try {
    if (values.teacher) {
      const t = await openModelAt(values.teacher, 'finetune');
      teacher = await loadLayersModelFromArtifacts(t.artifacts);
    }
    const samplesPath = values.samples;
    const samples = await namingInput(samplesPath, () => readSamples(samplesPath, model));
    if (!values.json) warnSamples('finetune', samples.warnings);
    const split = splitSource(samples.source, valSplit, 0);
    const t0 = performance.now();
    const result = await fineTune(model, split.train, split.val, {
      epochs,
      batchSize,
      optimizer,
      ...(values.lr !== undefined ? { learningRate: num(values.lr, 1e-3, 'lr') } : {}),
      ...(teacher
        ? {
            teacher,
            temperature: num(values.temperature, 4, 'temperature'),
            alpha: num(values.alpha, 0.5, 'alpha'),
          }
        : {}),
    });
    const seconds = (performance.now() - t0) / 1000;
    const record = fineTuneRecord(result, {
      epochs,
      batchSize,
      trainSamples: split.train.count,
      valSamples: split.val.count,
    });
    const artifacts = await artifactsAfterFineTune(opened.artifacts, model, record);
    const files = await writeModelOutput(
      values.out,
      artifacts,
      format,
      quantize,
      opened.artifacts,
      force,
      opened.files,
    );
    const summary = {
      samples: samples.source.count,
      kind: samples.kind,
      skipped: samples.bad.length,
      ...(samples.warnings.length > 0 ? { warnings: samples.warnings } : {}),
      trainSamples: split.train.count,
      valSamples: split.val.count,
      accuracyBefore: result.before.accuracy,
      accuracyAfter: result.after.accuracy,
      klBefore: result.before.kl,
      klAfter: result.after.kl,
      bestEpoch: result.bestEpoch,
      epochs: result.history.map((h) => ({
        epoch: h.epoch,
        loss: h.loss,
        valAccuracy: h.valAccuracy,
        valKl: h.valKl,
      })),
      seconds,
      format,
      files: format === 'tfjs' ? files.map((f) => join(values.out!, f.path)) : [values.out],
      fileBytes: { opened: opened.inputBytes, written: files.reduce((n, f) => n + f.bytes.byteLength, 0) },
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
    process.stdout.write(
      `Validation accuracy ${pct(summary.accuracyBefore)} -> ${pct(summary.accuracyAfter)} (best epoch ${summary.bestEpoch}, ${seconds.toFixed(1)} s). Wrote ${summary.files.join(', ')}\n`,
    );
  } finally {
    model.dispose();
    teacher?.dispose();
  }
}
