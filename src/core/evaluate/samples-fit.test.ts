import { describe, expect, it } from 'vitest';
import { isModelLoadError } from '../io/errors';
import { checkSamplesFit, type SamplesInfo } from './samples-fit';

const mnist = { inputShape: [28, 28, 1], numClasses: 10 };

function refusal(info: SamplesInfo, model = mnist): string {
  try {
    checkSamplesFit(info, model, 'set.plss');
  } catch (e) {
    if (isModelLoadError(e) && e.code === 'BAD_SAMPLES' && e.file === 'set.plss') return e.message;
    throw e;
  }
  throw new Error('expected BAD_SAMPLES');
}

describe('checkSamplesFit', () => {
  it('accepts a set that fits, labelled or not, and open input dimensions', () => {
    expect(() =>
      checkSamplesFit({ count: 3, shape: [28, 28, 1], labels: [0, 9, 3] }, mnist, 's'),
    ).not.toThrow();
    expect(() => checkSamplesFit({ count: 3, shape: [28, 28, 1], labels: null }, mnist, 's')).not.toThrow();
    expect(() =>
      checkSamplesFit(
        { count: 1, shape: [64, 48, 3], maxLabel: 4 },
        { inputShape: [null, null, 3], numClasses: 5 },
        's',
      ),
    ).not.toThrow();
  });

  it('refuses an empty set, quoting why samples were skipped', () => {
    expect(refusal({ count: 0, shape: [28, 28, 1] })).toBe(
      "Sample set 'set.plss' holds no samples, so there is nothing to measure the model on.",
    );
    const skipped = Array.from({ length: 5 }, (_, i) => `'${i}.png': too big.`);
    expect(refusal({ count: 0, shape: [28, 28, 1], skipped })).toBe(
      "Sample set 'set.plss' holds no samples, so there is nothing to measure the model on. 5 files were skipped: " +
        "'0.png': too big. '1.png': too big. '2.png': too big. (and 2 more)",
    );
  });

  it('refuses labels at or past the outputs, quoting the label, the sample and the class count', () => {
    expect(refusal({ count: 3, shape: [28, 28, 1], labels: [1, 12, 3] })).toBe(
      "Sample set 'set.plss' has label 12 (sample 1), but the model has 10 outputs (labels 0..9). " +
        'Is the set made for another model, or are its labels numbered from 1?',
    );
    expect(refusal({ count: 3, shape: [28, 28, 1], labels: [1, -1] })).toContain('has label -1 (sample 1)');
    expect(refusal({ count: 3, shape: [28, 28, 1], maxLabel: 10 })).toContain('has label 10, but');
  });

  it('says what input the model expects and how to get there', () => {
    expect(refusal({ count: 2, shape: [32, 32, 3] })).toBe(
      "Sample set 'set.plss' holds 32x32x3 samples, but the model expects 28x28x1 inputs. In preprocessing, " +
        'resize them to 28x28 and convert them to grayscale (1 channel): open the images as an image folder ' +
        "(it resizes to the model's input) or re-make the set at that size.",
    );
    expect(refusal({ count: 2, shape: [28, 28, 1] }, { inputShape: [28, 28, 3], numClasses: 10 })).toContain(
      'convert them to RGB (3 channels)',
    );
    expect(refusal({ count: 2, shape: [28, 28, 1] }, { inputShape: [784], numClasses: 10 })).toContain(
      'the model expects 784 inputs. The model does not take 28x28x1 images at all',
    );
  });
});
