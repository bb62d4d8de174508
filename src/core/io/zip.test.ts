import { describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { isModelLoadError } from './errors';
import { isZip, unzipFiles, zipFiles } from './zip';

const enc = new TextEncoder();

function badArchive(bytes: Uint8Array, name: string): string {
  try {
    unzipFiles(bytes, name);
  } catch (e) {
    if (isModelLoadError(e) && e.code === 'BAD_ARCHIVE' && e.file === name) return e.message;
    throw e;
  }
  throw new Error('expected BAD_ARCHIVE');
}

describe('zip', () => {
  const files = [
    { path: 'mymodel/model.json', bytes: enc.encode('{"modelTopology":{}}') },
    {
      path: 'mymodel/group1-shard1of1.bin',
      bytes: Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff),
    },
    { path: 'empty.bin', bytes: new Uint8Array(0) },
  ];

  it('round-trips files with their folders', () => {
    const zipped = zipFiles(files);
    expect(isZip(zipped)).toBe(true);
    expect(unzipFiles(zipped, 'mymodel.zip')).toEqual(files);
  });

  it('sniffs zips by content', () => {
    expect(isZip(zipSync({}))).toBe(true); // an empty archive is only an end record
    expect(isZip(enc.encode('{"a":1}'))).toBe(false);
    expect(isZip(Uint8Array.of(0x50, 0x4b))).toBe(false);
  });

  it('skips folders and macOS junk', () => {
    const zipped = zipSync({
      'm/': new Uint8Array(0),
      'm/model.json': enc.encode('{}'),
      '__MACOSX/m/._model.json': Uint8Array.of(1),
      'm/._group1-shard1of1.bin': Uint8Array.of(1),
      'm/.DS_Store': Uint8Array.of(1),
    });
    expect(unzipFiles(zipped, 'm.zip').map((f) => f.path)).toEqual(['m/model.json']);
  });

  it('BAD_ARCHIVE names a truncated or corrupt archive', () => {
    const zipped = zipFiles(files);
    expect(badArchive(zipped.subarray(0, zipped.length - 30), 'uploads/mymodel.zip')).toMatch(
      /^'uploads\/mymodel\.zip' is not a readable zip archive \(corrupt or truncated\?\): .+/,
    );
    const corrupt = zipped.slice();
    // Damage the first entry's deflated data (after its 30-byte header and name).
    for (let i = 60; i < 120; i++) corrupt[i] = 0xff;
    expect(badArchive(corrupt, 'x.zip')).toMatch(/^'x\.zip' is not a readable zip archive/);
    expect(badArchive(Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0), 'tiny.zip')).toContain("'tiny.zip'");
  });
});
