/**
 * Whether a sample set can be used with a model, checked once where the set meets the model (the page,
 * the CLI's `evaluate`, `--samples`), so that nothing downstream reports "Accuracy n/a on 0 samples" or
 * "Accuracy 0.00%" for labels the model cannot predict. Example: 2,000 labelled 28x28x1 digits against
 * the bundled MNIST CNN (`[null, 28, 28, 1]`, 10 outputs) fit; the same digits against a 32x32x3 model
 * are `BAD_SAMPLES` with "the model expects 32x32x3 inputs ... resize ... in preprocessing".
 */
import type { ModelIR } from '../ir/model-ir';
import { ModelLoadError } from '../io/errors';

/** What `checkSamplesFit` needs to know about a sample set. */
export interface SamplesInfo {
  count: number;
  /** One sample's `[height, width, channels]`. */
  shape: readonly [number, number, number];
  /** One class index per sample, or null / absent for an unlabelled set. */
  labels?: ArrayLike<number> | null;
  /** The largest label, when the labels themselves are not at hand (ignored when `labels` is given). */
  maxLabel?: number | null;
  /** Why samples were skipped (image folders' bad samples), quoted when nothing is left. */
  skipped?: readonly string[];
}

/** What `checkSamplesFit` needs to know about a model. */
export interface SamplesModel {
  /** One input's shape without the batch dimension, e.g. `[28, 28, 1]`; null where any size goes. */
  inputShape: readonly (number | null)[];
  /** The model's outputs (classes it predicts). */
  numClasses: number;
}

/** A model's input shape (without the batch) and output count, from its IR (first input, first output). */
export function samplesModelOf(ir: ModelIR): SamplesModel {
  const out = ir.layers.find((l) => l.name === ir.outputs[0]);
  const last = out?.outputShape[out.outputShape.length - 1];
  return { inputShape: ir.inputShape.slice(1), numClasses: typeof last === 'number' ? last : 0 };
}

function shapeText(shape: readonly (number | null)[]): string {
  return shape.map((d) => (d === null ? 'any' : String(d))).join('x');
}

/**
 * Throws `ModelLoadError('BAD_SAMPLES')` naming the set when it cannot be used with the model: no
 * samples (with the first reasons samples were skipped), a label at or past the model's outputs (quoting
 * the label, the sample and the class count) or a negative one, or samples of another size than the
 * model's input (saying what the model expects and how to get there: resize / channels in
 * preprocessing). Example: "Sample set 'digits.plss' has label 12 (sample 40), but the model has 10
 * outputs (labels 0..9)".
 */
export function checkSamplesFit(info: SamplesInfo, model: SamplesModel, name: string): void {
  const where = { file: name };
  const set = `Sample set '${name}'`;
  if (info.count === 0) {
    const skipped = info.skipped ?? [];
    const why =
      skipped.length === 0
        ? ''
        : ` ${skipped.length} file${skipped.length === 1 ? ' was' : 's were'} skipped: ${skipped
            .slice(0, 3)
            .join(' ')}${skipped.length > 3 ? ` (and ${skipped.length - 3} more)` : ''}`;
    throw new ModelLoadError(
      'BAD_SAMPLES',
      `${set} holds no samples, so there is nothing to measure the model on.${why}`,
      where,
    );
  }

  const [h, w, c] = info.shape;
  const expected = model.inputShape;
  const fits =
    expected.length === 3 &&
    [h, w, c].every((d, i) => expected[i] === null || expected[i] === undefined || expected[i] === d);
  if (!fits) {
    const hints: string[] = [];
    if (expected.length === 3) {
      const [eh, ew, ec] = expected;
      if ((eh !== null && eh !== h) || (ew !== null && ew !== w))
        hints.push(`resize them to ${eh ?? h}x${ew ?? w}`);
      if (ec !== null && ec !== c) {
        hints.push(
          ec === 1
            ? 'convert them to grayscale (1 channel)'
            : ec === 3
              ? 'convert them to RGB (3 channels)'
              : `give them ${ec} channels`,
        );
      }
    }
    const how =
      hints.length > 0
        ? `In preprocessing, ${hints.join(' and ')}: open the images as an image folder (it resizes to the ` +
          `model's input) or re-make the set at that size.`
        : `The model does not take ${h}x${w}x${c} images at all; evaluate it with samples made for it.`;
    throw new ModelLoadError(
      'BAD_SAMPLES',
      `${set} holds ${h}x${w}x${c} samples, but the model expects ${shapeText(expected)} inputs. ${how}`,
      where,
    );
  }

  const classes = model.numClasses;
  let bad: { label: number; at: number } | undefined;
  if (info.labels) {
    for (let i = 0; i < info.labels.length; i++) {
      const l = info.labels[i]!;
      if (!(Number.isInteger(l) && l >= 0 && l < classes)) {
        bad = { label: l, at: i };
        break;
      }
    }
  } else if (info.maxLabel !== null && info.maxLabel !== undefined && info.maxLabel >= classes) {
    bad = { label: info.maxLabel, at: -1 };
  }
  if (bad) {
    const sample = bad.at >= 0 ? ` (sample ${bad.at})` : '';
    const range = classes > 0 ? `labels 0..${classes - 1}` : 'no labels at all';
    throw new ModelLoadError(
      'BAD_SAMPLES',
      `${set} has label ${bad.label}${sample}, but the model has ${classes} output${classes === 1 ? '' : 's'} ` +
        `(${range}). Is the set made for another model, or are its labels numbered from 1?`,
      where,
    );
  }
}
