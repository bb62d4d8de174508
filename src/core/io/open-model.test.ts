import { describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import type { InputFile, ModelArtifactsData } from '../ir/artifacts';
import { isModelLoadError, type ModelLoadError } from './errors';
import { writeTfjsModel } from './export-tfjs';
import type { ModelFormat } from './format';
import { expandArchives, formats, openModelFiles } from './open-model';
import { zipFiles } from './zip';

const enc = new TextEncoder();

const artifacts: ModelArtifactsData = {
  modelTopology: { class_name: 'Sequential', config: { name: 'm', layers: [] } },
  weights: [
    { name: 'dense/kernel', shape: [2, 2], dtype: 'float32', values: Float32Array.of(1, -2, 3.5, 0) },
    { name: 'dense/bias', shape: [2], dtype: 'float32', values: Float32Array.of(0.25, -0.75) },
  ],
  format: 'layers-model',
  generatedBy: 'test',
  convertedBy: null,
  userDefinedMetadata: { inputSize: 2 },
};

async function loadError(files: InputFile[]): Promise<ModelLoadError> {
  try {
    await openModelFiles(files);
  } catch (e) {
    if (isModelLoadError(e)) return e;
    throw e;
  }
  throw new Error('expected a ModelLoadError');
}

describe('openModelFiles', () => {
  it('registers the Keras formats before tfjs (which claims any JSON, config.json included)', () => {
    expect(formats.map((f) => f.id)).toEqual(['onnx', 'keras-v3', 'keras-h5', 'tfjs-layers']);
  });

  it('opens written files and keeps the metadata', async () => {
    const a = await openModelFiles(writeTfjsModel(artifacts, { shardBytes: 7 }));
    expect(a).toEqual(artifacts);
  });

  it('opens a zip of a folder, alone or beside other files', async () => {
    const files = writeTfjsModel(artifacts);
    const zip = zipSync({
      'export/': new Uint8Array(0),
      ...Object.fromEntries(files.map((f) => [`export/${f.path}`, f.bytes])),
      '__MACOSX/export/._model.json': Uint8Array.of(0, 5, 22, 7),
    });
    expect(await openModelFiles([{ path: 'export.zip', bytes: zip }])).toEqual(artifacts);
    // A zip holding only the shards, dropped with a loose model.json; the zip is named oddly on purpose.
    const shardsZip = zipFiles(files.slice(1));
    expect(await openModelFiles([{ path: 'weights.dat', bytes: shardsZip }, files[0]!])).toEqual(artifacts);
    expect(expandArchives([{ path: 'weights.dat', bytes: shardsZip }]).map((f) => f.path)).toEqual([
      'group1-shard1of1.bin',
    ]);
  });

  it('NO_FILES when nothing is given, or an empty archive', async () => {
    const e = await loadError([]);
    expect(e.code).toBe('NO_FILES');
    const e2 = await loadError([{ path: 'empty.zip', bytes: zipSync({ 'folder/': new Uint8Array(0) }) }]);
    expect(e2.code).toBe('NO_FILES');
    expect(e2.message).toContain("'empty.zip'");
  });

  it('UNRECOGNIZED_FORMAT lists the files', async () => {
    const e = await loadError([
      { path: 'a.png', bytes: Uint8Array.of(0x89, 0x50, 0x4e, 0x47) },
      { path: 'b.txt', bytes: enc.encode('hello') },
      { path: 'c.bin', bytes: new Uint8Array(16) },
    ]);
    expect(e.code).toBe('UNRECOGNIZED_FORMAT');
    expect(e.message).toBe(
      'None of the 3 files (a.png, b.txt, c.bin) is an ONNX .onnx model or a Keras .keras file or a Keras .h5 model file or a TF.js model.json (with its .bin weight files).',
    );
  });

  it('BAD_ARCHIVE for a truncated zip, naming it', async () => {
    const zip = zipFiles(writeTfjsModel(artifacts));
    const e = await loadError([{ path: 'model.zip', bytes: zip.subarray(0, 40) }]);
    expect(e.code).toBe('BAD_ARCHIVE');
    expect(e.file).toBe('model.zip');
  });

  it('asks formats in order; the first that matches opens', async () => {
    const seen: string[] = [];
    const fake = (id: string, matches: boolean): ModelFormat => ({
      id,
      description: `a ${id} file`,
      match: () => (seen.push(id), matches),
      open: () => Promise.resolve({ ...artifacts, generatedBy: id }),
    });
    const a = await openModelFiles(
      [{ path: 'x', bytes: Uint8Array.of(1) }],
      [fake('h5', false), fake('keras', true), fake('tfjs', true)],
    );
    expect(a.generatedBy).toBe('keras');
    expect(seen).toEqual(['h5', 'keras']);
    await expect(
      openModelFiles([{ path: 'x', bytes: Uint8Array.of(1) }], [fake('h5', false), fake('keras', false)]),
    ).rejects.toThrow('None of the 1 file (x) is a h5 file or a keras file.');
  });
});
