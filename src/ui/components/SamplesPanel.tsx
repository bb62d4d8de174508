import { useEffect, useRef, useState } from 'react';
import {
  previewRgba,
  VALUE_RANGES,
  type PreprocessOptions,
  type ValueRange,
} from '../../core/evaluate/preprocess';
import { redecodeImages, setClassNames } from '../../state/recover-actions';
import { useWorkbench } from '../../state/store';
import { readFiles } from '../files';
import { openFiles } from '../../state/actions';

/** One preprocessed sample drawn at 2x on a small canvas. */
function SampleCanvas({ pixels, h, w, c }: { pixels: number[]; h: number; w: number; c: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const rgba = previewRgba(Uint8Array.from(pixels), h, w, c);
    ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
  }, [pixels, h, w, c]);
  return (
    <canvas
      ref={ref}
      width={w}
      height={h}
      style={{ width: Math.min(64, w * 2), imageRendering: 'pixelated' }}
    />
  );
}

function rangeId(r: ValueRange): string {
  return typeof r === 'string' ? r : 'mean-std';
}

/**
 * Bring your own samples: pick files or a folder (or a zip) of images; shows the guessed
 * preprocessing with controls to change it, a preview strip and the skipped samples with reasons.
 */
export function SamplesPanel() {
  const images = useWorkbench((s) => s.recover.images);
  const decoding = useWorkbench((s) => s.recover.decoding);
  const error = useWorkbench((s) => s.recover.imageError);
  const [draft, setDraft] = useState<PreprocessOptions | null>(null);
  const opts = draft ?? images?.preprocess ?? null;
  const pick = (list: FileList | null, input: HTMLInputElement) => {
    if (list?.length)
      void readFiles(list)
        .then((f) => openFiles(f, undefined, { imagesAreSamples: true }))
        .finally(() => {
          input.value = '';
          setDraft(null);
        });
  };
  return (
    <section className="panel samples" aria-label="Your samples">
      <h2>Your samples</h2>
      <p className="hint">
        A folder (or zip) of images, one subfolder per class, or with a labels CSV; labels.txt or a Teachable
        Machine metadata.json names the classes. Without labels, agreement and KL are shown.
      </p>
      <div className="row">
        <label className="button">
          Image files…
          <input
            type="file"
            multiple
            aria-label="Choose image files"
            onChange={(e) => pick(e.currentTarget.files, e.currentTarget)}
          />
        </label>
        <label className="button">
          Image folder…
          <input
            type="file"
            multiple
            aria-label="Choose an image folder"
            {...{ webkitdirectory: '', directory: '' }}
            onChange={(e) => pick(e.currentTarget.files, e.currentTarget)}
          />
        </label>
      </div>
      {decoding && <progress aria-label="Reading images" max={decoding.total || 1} value={decoding.done} />}
      {error && <p role="alert">{error}</p>}
      {images && opts && (
        <>
          <p data-testid="image-set-summary">
            {images.name}: labels from{' '}
            {images.labelling === 'none' ? 'nowhere (unlabelled)' : images.labelling},{' '}
            {images.classNames.length} classes.
          </p>
          <ClassNamesEditor key={images.classNames.join('\n')} names={images.classNames} />
          <ul className="hint">
            {images.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
            {images.notes.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
          <fieldset>
            <legend>Preprocessing</legend>
            <label>
              Resize{' '}
              <select
                aria-label="Resize mode"
                value={opts.resize}
                onChange={(e) =>
                  setDraft({ ...opts, resize: e.currentTarget.value as PreprocessOptions['resize'] })
                }
              >
                <option value="stretch">stretch</option>
                <option value="centre-crop">centre crop</option>
              </select>
            </label>{' '}
            <label>
              Values{' '}
              <select
                aria-label="Value range"
                value={rangeId(opts.range)}
                onChange={(e) => {
                  const v = e.currentTarget.value;
                  setDraft({
                    ...opts,
                    range:
                      v === 'mean-std'
                        ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }
                        : (v as '[0,1]' | '[-1,1]' | '[0,255]'),
                  });
                }}
              >
                {VALUE_RANGES.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.label}
                  </option>
                ))}
                <option value="mean-std">mean/std (ImageNet)</option>
              </select>
            </label>{' '}
            <label>
              Channels{' '}
              <select
                aria-label="Channels"
                value={opts.channels}
                onChange={(e) => setDraft({ ...opts, channels: Number(e.currentTarget.value) as 1 | 3 })}
              >
                <option value={1}>grayscale</option>
                <option value={3}>RGB</option>
              </select>
            </label>{' '}
            <button
              type="button"
              disabled={!draft || decoding !== null}
              onClick={() => void redecodeImages(opts).then(() => setDraft(null))}
            >
              Apply and re-read
            </button>
          </fieldset>
          <div
            className="preview-strip"
            aria-label="Preprocessed samples"
            style={{ display: 'flex', gap: 4, flexWrap: 'wrap' }}
          >
            {images.previews.map((p) => (
              <figure key={p.path} style={{ margin: 0, textAlign: 'center' }} title={p.path}>
                <SampleCanvas
                  pixels={p.pixels}
                  h={images.preprocess.height}
                  w={images.preprocess.width}
                  c={images.preprocess.channels}
                />
                <figcaption>{p.label ?? '—'}</figcaption>
              </figure>
            ))}
          </div>
          <details open={images.bad.length > 0 && images.bad.length <= 20}>
            <summary data-testid="bad-count">{images.bad.length} skipped samples</summary>
            <ul aria-label="Skipped samples">
              {images.bad.map((b, i) => (
                <li key={`${b.path}-${i}`}>
                  <code>{b.path}</code>: {b.reason}
                </li>
              ))}
            </ul>
          </details>
        </>
      )}
    </section>
  );
}

/** Class names, one per line (line i = output i): edit and apply to re-read the labels. */
function ClassNamesEditor({ names }: { names: readonly string[] }) {
  const [text, setText] = useState(names.join('\n'));
  return (
    <details>
      <summary>Class names ({names.length})</summary>
      <textarea
        aria-label="Class names, one per line"
        rows={Math.min(10, Math.max(3, names.length))}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button
        type="button"
        onClick={() =>
          void setClassNames(
            text
              .split('\n')
              .map((l) => l.trim())
              .filter((l) => l.length > 0),
          )
        }
      >
        Apply class names
      </button>
    </details>
  );
}
