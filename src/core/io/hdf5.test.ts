import { describe, expect, it } from 'vitest';
import { isModelLoadError } from './errors';
import { isHdf5, readHdf5, writeHdf5, type H5DatasetView, type H5GroupView, type H5WriteGroup } from './hdf5';

const SIG = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

describe('isHdf5', () => {
  it('finds the signature at 0 or after a user block, nowhere else', () => {
    expect(isHdf5(Uint8Array.from([...SIG, 0, 0]))).toBe(true);
    const block = new Uint8Array(1024 + 16);
    block.set(SIG, 1024);
    expect(isHdf5(block)).toBe(true);
    const odd = new Uint8Array(700);
    odd.set(SIG, 100);
    expect(isHdf5(odd)).toBe(false);
    expect(isHdf5(Uint8Array.from(SIG.slice(0, 7)))).toBe(false);
    expect(isHdf5(new TextEncoder().encode('PK\u0003\u0004 not hdf5'))).toBe(false);
  });
});

describe('writeHdf5 / readHdf5', () => {
  const tree: H5WriteGroup = {
    kind: 'group',
    attrs: [
      ['text', { kind: 'string', value: '{"name": "modèle"}' }],
      ['fixed', { kind: 'strings', values: ['conv2d/kernel:0', 'b'], fixed: true }],
      ['vlen', { kind: 'strings', values: ['x', 'yz'] }],
      ['none', { kind: 'empty' }],
    ],
    children: [
      [
        'g',
        {
          kind: 'group',
          children: [
            ['k:0', { kind: 'dataset', shape: [2, 1, 3], values: Float32Array.of(1, -2, 3.5, 0, -0, 6) }],
            ['steps', { kind: 'dataset', shape: [], values: Int32Array.of(-7) }],
          ],
        },
      ],
      ['weird\\name', { kind: 'group', attrs: [['name', { kind: 'string', value: 'w' }]] }],
    ],
  };

  it('round-trips attributes, groups and datasets (float32, int32, scalars, odd names)', async () => {
    const bytes = await writeHdf5(tree);
    expect(isHdf5(bytes)).toBe(true);
    const seen = await readHdf5(bytes, 't.h5', (root) => {
      const g = root.get('g') as H5GroupView;
      const k = root.get('g/k:0');
      const steps = g.get('steps');
      if (k?.kind !== 'dataset' || steps?.kind !== 'dataset') throw new Error('datasets missing');
      return {
        keys: root.keys(),
        attrs: root.attrNames().sort(),
        text: root.attr('text'),
        fixed: root.attr('fixed'),
        vlen: root.attr('vlen'),
        none: root.attr('none'),
        missing: root.attr('nope'),
        k: k.read(),
        steps: steps.read(),
        weird: (root.get('weird\\name') as H5GroupView).attr('name'),
        absent: root.get('g/none'),
      };
    });
    expect(seen.keys).toEqual(['g', 'weird\\name']);
    expect(seen.attrs).toEqual(['fixed', 'none', 'text', 'vlen']);
    expect(seen.text).toBe('{"name": "modèle"}');
    expect(seen.fixed).toEqual(['conv2d/kernel:0', 'b']);
    expect(seen.vlen).toEqual(['x', 'yz']);
    expect(seen.none).toEqual([]);
    expect(seen.missing).toBeUndefined();
    expect(seen.k).toEqual({
      shape: [2, 1, 3],
      stored: 'float32',
      dtype: 'float32',
      values: Float32Array.of(1, -2, 3.5, 0, -0, 6),
    });
    expect(Object.is(seen.k.values[4], -0)).toBe(true);
    expect(seen.steps).toEqual({ shape: [], stored: 'int32', dtype: 'int32', values: Int32Array.of(-7) });
    expect(seen.weird).toBe('w');
    expect(seen.absent).toBeUndefined();
  });

  it('refuses a dataset whose values do not fill its shape, and writes nothing', async () => {
    await expect(
      writeHdf5({
        kind: 'group',
        children: [['d', { kind: 'dataset', shape: [3], values: Float32Array.of(1) }]],
      }),
    ).rejects.toThrow("writeHdf5: 'd' has shape [3] but 1 values.");
  });

  it('BAD_HDF5 naming the file for truncated or corrupt bytes', async () => {
    const bytes = await writeHdf5(tree);
    for (const bad of [
      bytes.subarray(0, 100),
      Uint8Array.from([...SIG, ...new Array<number>(600).fill(7)]),
    ]) {
      try {
        await readHdf5(bad, 'broken.h5', () => 1);
        throw new Error('expected an error');
      } catch (e) {
        expect(isModelLoadError(e) && [e.code, e.file]).toEqual(['BAD_HDF5', 'broken.h5']);
      }
    }
  });

  it('passes errors of the callback through and can open files again afterwards', async () => {
    const bytes = await writeHdf5(tree);
    await expect(
      readHdf5(bytes, 't.h5', () => {
        throw new Error('mine');
      }),
    ).rejects.toThrow('mine');
    expect(await readHdf5(bytes, 't.h5', (root) => root.keys().length)).toBe(2);
  });
});

describe('readHdf5 bounds', () => {
  const gen = () => import('../../../test/bad-files/generate');

  async function failure(
    bytes: Uint8Array,
    use: (root: H5GroupView) => unknown,
  ): Promise<{ code: string; message: string }> {
    try {
      await readHdf5(bytes, 'w.h5', use);
    } catch (e) {
      if (isModelLoadError(e)) return { code: e.code, message: e.message };
      throw e;
    }
    throw new Error('expected an error');
  }

  /** Walks every group, as a generic reader would. */
  const walkAll = (g: H5GroupView): void => {
    for (const k of g.keys()) {
      const c = g.get(k);
      if (c?.kind === 'group') walkAll(c);
    }
  };

  it('stops a hard link cycle with CYCLE, naming both paths', async () => {
    const { buildHdf5 } = await gen();
    const bytes = await buildHdf5((f) => {
      f.create_group('layers').create_group('conv2d').create_hard_link('/layers', 'loop');
    });
    expect(await failure(bytes, walkAll)).toEqual({
      code: 'CYCLE',
      message:
        "'w.h5' has an HDF5 link cycle: '/layers/conv2d/loop' is the group '/layers' again, which contains it. Walking it would never end.",
    });
  });

  it('gives one group reached by two links one identity, and is no cycle', async () => {
    const { buildHdf5 } = await gen();
    const bytes = await buildHdf5((f) => {
      f.create_group('a');
      f.create_hard_link('/a', 'b');
    });
    const ids = await readHdf5(bytes, 'w.h5', (root) =>
      [root.get('a'), root.get('b')].map((g) => (g as H5GroupView).id),
    );
    expect(ids[0]).toBe(ids[1]);
  });

  it('refuses a dataset declared 100000x100000 before reading it', async () => {
    const { buildHdf5 } = await gen();
    const bytes = await buildHdf5((f) => {
      const d = f.create_group('layers').create_dataset({
        name: '0',
        data: new Float32Array(4),
        shape: [2, 2],
        maxshape: [null, null],
        chunks: [2, 2],
      });
      d.resize([100_000, 100_000]);
    });
    expect(bytes.length).toBeLessThan(20_000);
    expect(await failure(bytes, (root) => (root.get('layers/0') as H5DatasetView).read())).toEqual({
      code: 'LIMIT_EXCEEDED',
      message:
        "dataset 'layers/0' declares 100000x100000 float32 (40 GB), over the 1 GiB limit for one tensor.",
    });
  });

  it('refuses groups nested past the depth limit and strings where numbers belong', async () => {
    const { buildHdf5 } = await gen();
    const deep = await buildHdf5((f) => {
      let g = f.create_group('g0');
      for (let i = 1; i < 70; i++) g = g.create_group(`g${i}`);
    });
    expect((await failure(deep, walkAll)).code).toBe('LIMIT_EXCEEDED');
    const text = await buildHdf5((f) => void f.create_dataset({ name: 's', data: ['a', 'b'], shape: [2] }));
    expect(await failure(text, (root) => (root.get('s') as H5DatasetView).read())).toMatchObject({
      code: 'BAD_WEIGHTS',
    });
  });
});
