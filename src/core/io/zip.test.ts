import { describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { isModelLoadError } from './errors';
import { confinedPath, crc32, isZip, unzipFiles, zipBudget, zipFiles } from './zip';

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

describe('zip limits and confinement', () => {
  const crafted = async () => import('../../../test/bad-files/generate');

  function codeOf(bytes: Uint8Array, name = 'a.zip'): { code: string; message: string } {
    try {
      unzipFiles(bytes, name);
    } catch (e) {
      if (isModelLoadError(e)) return { code: e.code, message: e.message };
      throw e;
    }
    throw new Error('expected an error');
  }

  it('confinedPath keeps paths inside the archive and names escapes', () => {
    expect(confinedPath('a/./b/../c.bin')).toEqual({ path: 'a/c.bin' });
    expect(confinedPath('m\\model.json')).toEqual({ path: 'm/model.json' });
    expect(confinedPath('../x')).toEqual({ escape: "a '..' that climbs out of it" });
    expect(confinedPath('a/../../x')).toHaveProperty('escape');
    expect(confinedPath('/etc/passwd')).toEqual({ escape: 'an absolute path' });
    expect(confinedPath('\\\\server\\share')).toEqual({ escape: 'an absolute path' });
    expect(confinedPath('C:x.bin')).toEqual({ escape: 'a drive letter' });
  });

  it('refuses escaping entries, bad CRCs, lying sizes and declared bombs by name', async () => {
    const { craftZip } = await crafted();
    const data = enc.encode('{"a": 1}');
    expect(codeOf(craftZip([{ name: '../evil.json', data }]))).toEqual({
      code: 'PATH_ESCAPE',
      message:
        "'a.zip' holds an entry '../evil.json' whose path leaves the archive (a '..' that climbs out of it); nothing was extracted.",
    });
    const crc = codeOf(craftZip([{ name: 'm/x.json', data, crc: 0x12345678 }]));
    expect(crc.code).toBe('BAD_ARCHIVE');
    expect(crc.message).toContain("entry 'm/x.json' fails its CRC-32 check");
    expect(crc.message).toContain('0x12345678');
    const lying = codeOf(
      craftZip([{ name: 'z.bin', data: new Uint8Array(1 << 20), deflate: true, size: 10 }]),
    );
    expect(lying).toMatchObject({ code: 'BAD_ARCHIVE' });
    expect(lying.message).toContain("entry 'z.bin' inflates to more than the 10 bytes it declares");
    const bomb = codeOf(
      craftZip([{ name: 'z.bin', data: new Uint8Array(1 << 20), deflate: true, size: 3_000_000_000 }]),
    );
    expect(bomb.code).toBe('LIMIT_EXCEEDED');
    expect(bomb.message).toMatch(
      /entry 'z\.bin' declares 3 GB from .* over the 100:1 compression ratio limit/,
    );
    expect(codeOf(craftZip([{ name: 'x', data }], { declareCount: 20_000 }))).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      message: "'a.zip' declares 20000 entries, over the limit of 10000 for one archive.",
    });
  });

  it('shares one budget between an archive and the archives in it', async () => {
    const { craftZip } = await crafted();
    const budget = zipBudget();
    budget.bytesLeft = 100;
    const zip = craftZip([{ name: 'a.bin', data: new Uint8Array(60) }]);
    expect(unzipFiles(zip, 'one.zip', { budget })).toHaveLength(1);
    expect(budget.bytesLeft).toBe(40);
    expect(() => unzipFiles(zip, 'two.zip', { budget })).toThrow(
      /over the 2 GiB limit for an archive and the archives in it/,
    );
  });

  it('crc32 matches the zip standard check value', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('zipFilesAsync', () => {
  it('gives the bytes zipFiles gives (on the calling thread where there are no Workers, as here)', async () => {
    const { zipFilesAsync } = await import('./zip');
    expect(typeof Worker).toBe('undefined');
    const files = [
      { path: 'm/model.json', bytes: new TextEncoder().encode('{"a":1}'.repeat(50)) },
      { path: 'm/group1-shard1of1.bin', bytes: Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 251) },
    ];
    const sync = zipFiles(files);
    const async = await zipFilesAsync(files);
    // The same entries, sizes and CRCs; only the timestamps could differ.
    expect(async.byteLength).toBe(sync.byteLength);
    const unzipped = (z: Uint8Array) => unzipFiles(z, 'x.zip').map((f) => [f.path, Array.from(f.bytes)]);
    expect(unzipped(async)).toEqual(unzipped(sync));
    await expect(zipFilesAsync([files[0]!, files[0]!])).rejects.toThrow(/two files named/);
  });
});
