/**
 * Issue 11, the page's downloads: the storage the model came in is the default, every format's size
 * is the exact size of the download (measured by building it), the totals compare it with the bytes
 * of the files opened, and a no-op download still carries its provenance record.
 */
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactsFromLayersModel } from '../core/io/tf-artifacts';
import { writeTfjsModel } from '../core/io/export-tfjs';
import type { TfjsModelJSON } from '../core/ir/keras-json';
import { useWorkbench } from './store';
import { openFiles, toggleFilter } from './actions';
import {
  buildDownload,
  chooseExportKind,
  chosenKind,
  availableKinds,
  inputKind,
  measureExportSizes,
  openedBytes,
  useExportSizes,
} from './export-actions';

const get = useWorkbench.getState;
let float32: { path: string; bytes: Uint8Array }[];
let uint8: { path: string; bytes: Uint8Array }[];
const total = (files: { bytes: Uint8Array }[]) => files.reduce((n, f) => n + f.bytes.byteLength, 0);

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({
      inputShape: [12, 12, 1],
      filters: 16,
      kernelSize: 3,
      name: 'conv1',
      activation: 'relu',
    }),
  );
  m.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, name: 'conv2', activation: 'relu' }));
  m.add(tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }));
  const a = await artifactsFromLayersModel(m);
  float32 = writeTfjsModel(a);
  uint8 = writeTfjsModel(a, { quantize: 'uint8' });
  m.dispose();
});

function manifest(zip: Uint8Array): TfjsModelJSON {
  const entries = unzipSync(zip);
  const json = Object.entries(entries).find(([p]) => p.endsWith('model.json'))![1];
  return JSON.parse(new TextDecoder().decode(json)) as TfjsModelJSON;
}

describe('downloads keep the form the user came with', () => {
  it('a uint8 model: uint8 by default, one zip, exact sizes, smaller than the opened files once filters go', async () => {
    await openFiles(uint8, 'q8');
    expect(get().exportQuantize).toBe('uint8');
    expect(openedBytes()).toBe(total(uint8));
    expect(chosenKind()).toBe('tfjs-zip');
    // A no-op download carries the record too.
    const [noop] = await buildDownload('tfjs-zip', get().exportQuantize);
    const record = manifest(noop!.bytes).userDefinedMetadata?.['prunelab'] as { plan: { remove: object } };
    expect(record.plan.remove).toEqual({});
    for (let i = 0; i < 6; i++) toggleFilter('conv1', i);
    expect(await measureExportSizes(get().exportQuantize)).toBe(true);
    const { sizes } = useExportSizes.getState();
    expect(availableKinds()).not.toContain('onnx'); // a TF.js model has no ONNX file to write into
    for (const kind of availableKinds()) {
      const files = await buildDownload(kind, get().exportQuantize);
      expect(sizes[kind], kind).toBe(total(files));
    }
    const [zip] = await buildDownload('tfjs-zip', get().exportQuantize);
    expect(
      manifest(zip!.bytes).weightsManifest[0]!.weights.every((w) => w.quantization?.dtype === 'uint8'),
    ).toBe(true);
    expect(sizes['tfjs-files']!).toBeLessThan(total(uint8));
    // The totals' format can be changed; another model starts from its own form again.
    chooseExportKind('h5');
    expect(chosenKind()).toBe('h5');
    await openFiles(float32, 'f32');
    expect(get().exportQuantize).toBe('none');
    expect(chosenKind()).toBe('tfjs-zip');
    expect(openedBytes()).toBe(total(float32));
  });

  it('inputKind: .keras -> keras, .h5 -> h5, anything else one TF.js zip', () => {
    expect(inputKind(['a/model.keras'])).toBe('keras');
    expect(inputKind(['m.H5'])).toBe('h5');
    expect(inputKind(['model.json', 'group1-shard1of1.bin'])).toBe('tfjs-zip');
  });
});
