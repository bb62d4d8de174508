import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputExistsError, writeOutputFile, writeOutputFiles, writeOutputFolder } from './write-output';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'prunelab-write-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Every file under a folder with its bytes, as a sorted list (the byte-identical oracle). */
function snapshot(dir: string): [string, string][] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const p = join(e.parentPath, e.name);
      return [p.slice(dir.length + 1), readFileSync(p).toString('base64')] as [string, string];
    })
    .sort((a, b) => a[0].localeCompare(b[0]));
}

const files = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    path: i === 0 ? 'model.json' : `group1-shard${i}of${n - 1}.bin`,
    bytes: new Uint8Array(1000).fill(i + tag.charCodeAt(0)),
  }));

describe('writeOutputFolder', () => {
  it('writes a new folder, creating its parents, and leaves no temporary behind', async () => {
    const out = join(root, 'a', 'b', 'model');
    const written = await writeOutputFolder(out, files('x', 3));
    expect(written).toEqual(
      ['model.json', 'group1-shard1of2.bin', 'group1-shard2of2.bin'].map((f) => join(out, f)),
    );
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
    expect(readdirSync(join(root, 'a', 'b'))).toEqual(['model']);
    // An existing empty folder is fine without --force.
    mkdirSync(join(root, 'empty'));
    await writeOutputFolder(join(root, 'empty'), files('y', 2));
    expect(readdirSync(join(root, 'empty')).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
  });

  it('refuses a non-empty folder or a file without force, touching nothing', async () => {
    const out = join(root, 'model');
    await writeOutputFolder(out, files('x', 3));
    const before = snapshot(out);
    await expect(writeOutputFolder(out, files('y', 2))).rejects.toThrow(OutputExistsError);
    await expect(writeOutputFolder(out, files('y', 2))).rejects.toThrow(/not empty; pass --force/);
    expect(snapshot(out)).toEqual(before);
    writeFileSync(join(root, 'file'), 'keep');
    await expect(writeOutputFolder(join(root, 'file'), files('y', 2))).rejects.toThrow(/already exists/);
    expect(readdirSync(root).sort()).toEqual(['file', 'model']);
  });

  it('with force replaces the folder whole: no stale shards or other files survive', async () => {
    const out = join(root, 'model');
    await writeOutputFolder(out, files('x', 4));
    writeFileSync(join(out, 'notes.txt'), 'old');
    mkdirSync(join(out, 'sub'));
    writeFileSync(join(out, 'sub', 'deep.bin'), 'old');
    await writeOutputFolder(out, files('y', 2), { force: true });
    expect(snapshot(out)).toEqual(snapshot2(files('y', 2)));
    expect(readdirSync(root)).toEqual(['model']);
  });

  it('a failure after the first file leaves the previous output byte-identical and no temporary behind', async () => {
    const out = join(root, 'model');
    await writeOutputFolder(out, files('x', 3));
    const before = snapshot(out);
    const failing = {
      force: true,
      afterFile: (_: string, i: number) => {
        if (i === 0) throw new Error('ENOSPC: no space left on device (simulated)');
      },
    };
    await expect(writeOutputFolder(out, files('y', 5), failing)).rejects.toThrow(/ENOSPC/);
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(root)).toEqual(['model']);
    // A new output that fails leaves nothing at all.
    await expect(writeOutputFolder(join(root, 'new'), files('y', 3), failing)).rejects.toThrow(/ENOSPC/);
    expect(readdirSync(root)).toEqual(['model']);
  });

  it('a real file-system failure (a name too long) leaves the previous output intact', async () => {
    const out = join(root, 'model');
    await writeOutputFolder(out, files('x', 2));
    const before = snapshot(out);
    const bad = [...files('y', 2), { path: `${'n'.repeat(300)}.bin`, bytes: new Uint8Array(4) }];
    await expect(writeOutputFolder(out, bad, { force: true })).rejects.toThrow(/ENAMETOOLONG/);
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(root)).toEqual(['model']);
    // A long output name still gets a temporary name the file system takes.
    const long = join(root, 'm'.repeat(250));
    await writeOutputFolder(long, files('x', 2));
    expect(readdirSync(long)).toHaveLength(2);
  });

  it('never writes outside the output folder', async () => {
    await expect(
      writeOutputFolder(join(root, 'model'), [{ path: '../escape.bin', bytes: new Uint8Array(1) }]),
    ).rejects.toThrow(/outside the output folder/);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('writeOutputFile(s)', () => {
  it('writes, refuses an existing file without force, replaces it with force, and never a folder', async () => {
    const out = join(root, 'x', 'pruned.keras');
    await writeOutputFile(out, 'one');
    await expect(writeOutputFile(out, 'two')).rejects.toThrow(/already exists; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('one');
    await writeOutputFile(out, 'two', { force: true });
    expect(readFileSync(out, 'utf8')).toBe('two');
    mkdirSync(join(root, 'dir'));
    await expect(writeOutputFile(join(root, 'dir'), 'x', { force: true })).rejects.toThrow(/is a folder/);
    expect(readdirSync(join(root, 'x'))).toEqual(['pruned.keras']);
  });

  it('a failure mid-way leaves every previous file byte-identical and no temporaries', async () => {
    const csv = join(root, 'sens.csv');
    const json = join(root, 'sens.json');
    await writeOutputFiles([
      { path: csv, bytes: 'a,b\n' },
      { path: json, bytes: '{}' },
    ]);
    await expect(
      writeOutputFiles(
        [
          { path: csv, bytes: 'c,d\n' },
          { path: json, bytes: '[]' },
        ],
        {
          force: true,
          afterFile: (_, i) => {
            if (i === 1) throw new Error('simulated');
          },
        },
      ),
    ).rejects.toThrow('simulated');
    expect(readFileSync(csv, 'utf8')).toBe('a,b\n');
    expect(readFileSync(json, 'utf8')).toBe('{}');
    expect(readdirSync(root).sort()).toEqual(['sens.csv', 'sens.json']);
  });
});

function snapshot2(list: { path: string; bytes: Uint8Array }[]): [string, string][] {
  return list
    .map((f) => [f.path, Buffer.from(f.bytes).toString('base64')] as [string, string])
    .sort((a, b) => a[0].localeCompare(b[0]));
}
