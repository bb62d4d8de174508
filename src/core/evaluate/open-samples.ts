/**
 * Dropped sample files -> a source checked against the model, in one call: a `.plss` set (sniffed by
 * its `PLSS` magic) or image files / folders / zips (decoded and preprocessed to the model's input).
 * Every refusal is a `ModelLoadError`: `BAD_SAMPLES` for a set that cannot be read or does not fit the
 * model (see `checkSamplesFit`), `LIMIT_EXCEEDED` / `PATH_ESCAPE` when every image or archive was
 * refused for that reason. Skipped images are returned as warnings, not errors, while some remain.
 */
import type { InputFile } from '../ir/artifacts';
import { ModelLoadError, type ModelLoadErrorCode } from '../io/errors';
import type { ImageDecoder } from './image';
import { decodeImageSamples, imageSetSource, listImageSamples, type BadSample } from './image-folder';
import { guessPreprocess, type PreprocessOptions } from './preprocess';
import { parseSampleSet, SAMPLE_SET_MAGIC, SampleSetError } from './sample-set';
import { asSampleSource, type SampleSource } from './sample-source';
import { checkSamplesFit, type SamplesModel } from './samples-fit';

/** A sample set ready to evaluate, and what the user should be told about it. */
export interface OpenedSamples {
  source: SampleSource;
  kind: 'plss' | 'images';
  /** Skipped files with their reasons, notes, mismatches worth a word; empty when all is well. */
  warnings: string[];
}

export interface OpenSamplesOptions {
  /** Overrides of the preprocessing guessed from the model's input (size, channels, range, resize). */
  preprocess?: Partial<PreprocessOptions>;
  signal?: AbortSignal;
}

function isPlss(f: InputFile): boolean {
  return (
    f.bytes.length >= 4 &&
    String.fromCharCode(f.bytes[0]!, f.bytes[1]!, f.bytes[2]!, f.bytes[3]!) === SAMPLE_SET_MAGIC
  );
}

/** The code for an image set that came out empty: the one reason every file was refused for, if any. */
function emptyCode(bad: readonly BadSample[]): ModelLoadErrorCode {
  if (bad.length > 0 && bad.every((b) => b.code === 'TOO_LARGE')) return 'LIMIT_EXCEEDED';
  if (bad.length > 0 && bad.every((b) => b.code === 'PATH_ESCAPE')) return 'PATH_ESCAPE';
  return 'BAD_SAMPLES';
}

/**
 * Opens sample files for a model (see the module comment). Example: `[mnist-heldout.plss]` against
 * `{inputShape: [28, 28, 1], numClasses: 10}` gives a 2,000-sample source and no warnings.
 */
export async function openSampleFiles(
  files: readonly InputFile[],
  model: SamplesModel,
  decode: ImageDecoder,
  opts: OpenSamplesOptions = {},
): Promise<OpenedSamples> {
  if (files.length === 0) {
    throw new ModelLoadError('BAD_SAMPLES', 'No sample files were given: give a .plss set or images.');
  }
  const plss = files.filter(isPlss);
  if (plss.length > 0) {
    const file = plss[0]!;
    const warnings = plss.length > 1 ? [`Several .plss sets were given; '${file.path}' is used.`] : [];
    let set;
    try {
      set = parseSampleSet(file.bytes, file.path);
    } catch (e) {
      if (e instanceof SampleSetError)
        throw new ModelLoadError('BAD_SAMPLES', e.message, { file: file.path });
      throw e;
    }
    checkSamplesFit(
      { count: set.count, shape: [set.height, set.width, set.channels], labels: set.labels },
      model,
      file.path,
    );
    if (set.labels && set.numClasses !== model.numClasses) {
      warnings.push(
        `Sample set '${file.path}' declares ${set.numClasses} classes and the model has ${model.numClasses} outputs; ` +
          `its labels all fit.`,
      );
    }
    return { source: asSampleSource(set), kind: 'plss', warnings };
  }

  const name = files.length === 1 ? files[0]!.path : `${files.length} files`;
  let preprocess: PreprocessOptions;
  try {
    preprocess = { ...guessPreprocess([null, ...model.inputShape]).options, ...opts.preprocess };
  } catch (e) {
    throw new ModelLoadError(
      'BAD_SAMPLES',
      `Images cannot be fed to this model: ${e instanceof Error ? e.message : String(e)}`,
      { file: name },
    );
  }
  const listing = listImageSamples(files, { numOutputs: model.numClasses });
  const { set, bad } = await decodeImageSamples(
    listing,
    decode,
    preprocess,
    opts.signal ? { signal: opts.signal } : {},
  );
  const reasons = bad.map((b) => `'${b.path}': ${b.reason}`);
  if (set.count === 0) {
    const code = emptyCode(bad);
    if (code !== 'BAD_SAMPLES') {
      throw new ModelLoadError(code, `No usable sample in ${name}: ${bad[0]!.reason}`, {
        file: bad[0]!.path,
      });
    }
    checkSamplesFit(
      { count: 0, shape: [set.height, set.width, set.channels], skipped: reasons },
      model,
      name,
    );
  }
  checkSamplesFit(
    { count: set.count, shape: [set.height, set.width, set.channels], labels: set.labels },
    model,
    name,
  );
  return {
    source: imageSetSource(set),
    kind: 'images',
    warnings: [...reasons, ...listing.notes],
  };
}
