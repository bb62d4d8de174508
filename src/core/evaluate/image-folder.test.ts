import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InputFile } from '../ir/artifacts';
import { zipFiles } from '../io/zip';
import type { DecodedImage, ImageDecoder } from './image';
import {
  decodeImageSamples,
  imageSetSource,
  listImageSamples,
  loadImageSamples,
  parseCsv,
  parseLabelsTxt,
  parseMetadataLabels,
} from './image-folder';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A fake "PNG": the real magic, then one byte: the gray level of a 2x2 image (255 = undecodable). */
function img(path: string, gray = 100): InputFile {
  return { path, bytes: Uint8Array.from([...PNG_MAGIC, gray]) };
}

function textFile(path: string, content: string): InputFile {
  return { path, bytes: new TextEncoder().encode(content) };
}

/** Decodes the fake PNGs above; rejects gray 255 like a corrupt file. */
const fakeDecoder: ImageDecoder = (bytes, name) => {
  const gray = bytes[8]!;
  if (gray === 255) return Promise.reject(new Error(`'${name}' is corrupt`));
  const image: DecodedImage = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(gray) };
  for (let i = 3; i < 16; i += 4) image.data[i] = 255;
  return Promise.resolve(image);
};

const labelsOf = (l: ReturnType<typeof listImageSamples>): Record<string, number | null> =>
  Object.fromEntries(l.entries.map((e) => [e.path, e.label]));

describe('label files', () => {
  it('labels.txt: one name per line; Teachable Machine index prefixes dropped', () => {
    expect(parseLabelsTxt('cat\r\ndog\n\n  bird \n')).toEqual(['cat', 'dog', 'bird']);
    expect(parseLabelsTxt('0 Class 1\n1 Class 2\n')).toEqual(['Class 1', 'Class 2']);
    expect(parseLabelsTxt('0 cat\n2 dog\n')).toEqual(['0 cat', '2 dog']);
  });
  it('metadata.json: Teachable Machine labels, or null', () => {
    expect(parseMetadataLabels('{"tfjsVersion":"1.3.1","labels":["a","b"],"imageSize":224}')).toEqual([
      'a',
      'b',
    ]);
    expect(parseMetadataLabels('{"keras_version":"3.0.0"}')).toBeNull();
    expect(parseMetadataLabels('not json')).toBeNull();
  });
  it('CSV: quotes, doubled quotes, CRLF, empty lines', () => {
    expect(parseCsv('file,label\r\n"a, b.png","x ""y"""\n\nc.png,3')).toEqual([
      ['file', 'label'],
      ['a, b.png', 'x "y"'],
      ['c.png', '3'],
    ]);
  });
});

describe('listImageSamples', () => {
  it('one subfolder per class, numeric names are their own index', () => {
    const l = listImageSamples([img('digits/3/a.png'), img('digits/7/b.png'), img('digits/7/c.png')], {
      numOutputs: 10,
    });
    expect(l.labelling).toBe('folders');
    expect(l.classSource).toBe('numeric');
    expect(labelsOf(l)).toEqual({ 'digits/3/a.png': 3, 'digits/7/b.png': 7, 'digits/7/c.png': 7 });
    expect(l.numClasses).toBe(10);
    expect(l.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(l.bad).toEqual([]);
  });

  it('class names sort by code point when no list is given', () => {
    const l = listImageSamples([img('dog/1.png'), img('cat/2.png'), img('Zebra/3.png')]);
    expect(l.classSource).toBe('sorted');
    expect(l.classNames).toEqual(['Zebra', 'cat', 'dog']);
    expect(labelsOf(l)).toEqual({ 'Zebra/3.png': 0, 'cat/2.png': 1, 'dog/1.png': 2 });
  });

  it('labels.txt maps folder names; unknown classes and labels past the outputs are bad, not fatal', () => {
    const l = listImageSamples(
      [
        textFile('set/labels.txt', 'cat\ndog\nbird\n'),
        img('set/dog/1.png'),
        img('set/cat/2.png'),
        img('set/fish/3.png'),
        img('set/bird/4.png'),
        img('set/loose.png'),
        textFile('set/README.md', 'hi'),
      ],
      { numOutputs: 2 },
    );
    expect(l.classSource).toBe('labels.txt');
    expect(labelsOf(l)).toEqual({ 'set/cat/2.png': 0, 'set/dog/1.png': 1 });
    const bad = Object.fromEntries(l.bad.map((b) => [b.path, b.code]));
    expect(bad).toEqual({
      'set/fish/3.png': 'UNKNOWN_CLASS',
      'set/bird/4.png': 'LABEL_OUT_OF_RANGE',
      'set/loose.png': 'NO_LABEL',
    });
    expect(l.bad.find((b) => b.code === 'LABEL_OUT_OF_RANGE')!.reason).toMatch(
      /output 2, but the model has 2/,
    );
    expect(l.ignored).toEqual(['set/README.md']);
  });

  it('metadata.json (Teachable Machine) labels; the user list wins over both files', () => {
    const files = [
      textFile('tm/metadata.json', JSON.stringify({ labels: ['up', 'down'] })),
      img('tm/down/a.png'),
      img('tm/up/b.png'),
    ];
    const l = listImageSamples(files);
    expect(l.classSource).toBe('metadata.json');
    expect(labelsOf(l)).toEqual({ 'tm/down/a.png': 1, 'tm/up/b.png': 0 });
    const u = listImageSamples(files, { classNames: ['down', 'up'] });
    expect(u.classSource).toBe('user');
    expect(labelsOf(u)).toEqual({ 'tm/down/a.png': 0, 'tm/up/b.png': 1 });
  });

  it('a single folder is a class only when the labels list names it', () => {
    const one = listImageSamples([img('cats/a.png'), img('cats/b.png')]);
    expect(one.labelling).toBe('none');
    expect(one.notes.join(' ')).toMatch(/one folder, 'cats'/);
    const named = listImageSamples([img('cats/a.png'), textFile('labels.txt', 'dogs\ncats')]);
    expect(named.labelling).toBe('folders');
    expect(labelsOf(named)).toEqual({ 'cats/a.png': 1 });
  });

  it('images and a labels CSV: header skipped, paths relative to the CSV or bare names', () => {
    const l = listImageSamples(
      [
        textFile('data/labels.csv', 'file,label\nimgs/a.png,cat\nb.png,dog\nmissing.png,cat\nc.png,\n'),
        img('data/imgs/a.png'),
        img('data/imgs/b.png'),
        img('data/imgs/c.png'),
        img('data/imgs/d.png'),
        textFile('data/labels.txt', 'dog\ncat'),
      ],
      { numOutputs: 2 },
    );
    expect(l.labelling).toBe('csv');
    expect(labelsOf(l)).toEqual({ 'data/imgs/a.png': 1, 'data/imgs/b.png': 0 });
    expect(l.bad.map((b) => [b.path, b.code])).toEqual([
      ['missing.png', 'MISSING_FILE'],
      ['data/imgs/c.png', 'NO_LABEL'],
      ['data/imgs/d.png', 'NO_LABEL'],
    ]);
  });

  it('CSV without a header and with numeric labels; conflicting rows keep the first', () => {
    const l = listImageSamples([
      textFile('l.csv', 'a.png,1\nb.png,0\na.png,0\n'),
      img('a.png'),
      img('b.png'),
    ]);
    expect(labelsOf(l)).toEqual({ 'a.png': 1, 'b.png': 0 });
    expect(l.bad.map((b) => b.code)).toEqual(['DUPLICATE']);
  });

  it('no labels: a flat folder of images', () => {
    const l = listImageSamples([img('a.png'), img('b.jpg'), textFile('x.txt', '')], { numOutputs: 10 });
    expect(l.labelling).toBe('none');
    expect(labelsOf(l)).toEqual({ 'a.png': null, 'b.jpg': null });
    expect(l.numClasses).toBe(10);
  });

  it('expands zips in place and reports a broken one', () => {
    const zip = zipFiles([
      { path: '0/a.png', bytes: img('').bytes },
      { path: '1/b.png', bytes: img('').bytes },
      { path: '__MACOSX/1/._b.png', bytes: new Uint8Array(4) },
    ]);
    const broken = zip.slice(0, 40);
    const l = listImageSamples([
      { path: 'up/digits.zip', bytes: zip },
      { path: 'broken.zip', bytes: broken },
    ]);
    expect(labelsOf(l)).toEqual({ 'up/0/a.png': 0, 'up/1/b.png': 1 });
    expect(l.bad.map((b) => [b.path, b.code])).toEqual([['broken.zip', 'BAD_ARCHIVE']]);
  });

  it('an image extension with other content is listed, then found unreadable when decoding', async () => {
    const { set, bad } = await loadImageSamples(
      [img('a/1.png', 10), img('b/2.png', 255), textFile('b/3.png', 'not an image'), img('b/4.png', 20)],
      fakeDecoder,
      { height: 1, width: 1, channels: 1, resize: 'stretch', range: '[0,255]' },
    );
    expect(set.paths).toEqual(['a/1.png', 'b/4.png']);
    expect(Array.from(set.labels!)).toEqual([0, 1]);
    expect(Array.from(set.pixels)).toEqual([10, 20]);
    expect(bad.map((b) => [b.path, b.code])).toEqual([
      ['b/2.png', 'UNREADABLE'],
      ['b/3.png', 'UNREADABLE'],
    ]);
    expect(bad[0]!.reason).toMatch(/corrupt/);
  });
});

describe('decodeImageSamples -> source', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('batches carry the value range; labels stay', async () => {
    const listing = listImageSamples([img('0/a.png', 0), img('1/b.png', 255 - 1), img('1/c.png', 51)]);
    const { set } = await decodeImageSamples(listing, fakeDecoder, {
      height: 2,
      width: 2,
      channels: 3,
      resize: 'stretch',
      range: '[-1,1]',
    });
    const source = imageSetSource(set);
    expect(source.count).toBe(3);
    expect(Array.from(source.labels!)).toEqual([0, 1, 1]);
    const before = tf.memory().numTensors;
    const x = source.gather([2, 0]);
    const values = await x.data();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(values.length).toBe(2 * 2 * 2 * 3);
    expect(values[0]).toBeCloseTo(51 / 127.5 - 1, 6);
    expect(values[12]).toBeCloseTo(-1, 6);
  });

  it('cancels between images', async () => {
    const listing = listImageSamples([img('a.png'), img('b.png')]);
    const ac = new AbortController();
    ac.abort();
    await expect(
      decodeImageSamples(
        listing,
        fakeDecoder,
        { height: 1, width: 1, channels: 1, resize: 'stretch', range: '[0,1]' },
        { signal: ac.signal },
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});
