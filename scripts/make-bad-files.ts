/**
 * Makes the small files of the bad-file corpus's `archive` and `samples` areas and their cases.json
 * (test/bad-files/<area>/), so that anyone can see how each file was made: `npx tsx scripts/make-bad-files.ts`.
 * Big inputs are not committed: their cases name a generator in test/bad-files/generate.ts instead.
 * Deterministic but for the modification times HDF5 stamps into .h5 files (and so into .keras archives).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'fflate';
import { format, resolveConfig } from 'prettier';
import type { ModelLoadErrorCode } from '../src/core/io/errors';
import {
  bmpHeaderOnly,
  craftZip,
  gifHeaderOnly,
  jpegHeaderOnly,
  kerasArchive,
  pngHeaderOnly,
  pngImage,
  plss,
  tinyKeras2H5,
  tinyKeras3Weights,
  tinyModelJson,
  tinyTfjsFiles,
  webpHeaderOnly,
} from '../test/bad-files/generate';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'bad-files');
const enc = new TextEncoder();

interface Case {
  id: string;
  kind: 'model' | 'samples';
  /** Files to write, by path relative to the area folder. */
  files?: Record<string, Uint8Array>;
  input: string[];
  code: ModelLoadErrorCode | null;
  warning?: string;
  generate?: string;
  why: string;
}

const json = (v: unknown) => enc.encode(JSON.stringify(v));

/** The tiny TF.js model's files under `folder/`, with model.json replaced by `model` when given. */
function tfjsFolder(folder: string, model?: Record<string, unknown>): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const f of tinyTfjsFiles())
    out[`${folder}/${f.path}`] = f.path === 'model.json' && model ? json(model) : f.bytes;
  return out;
}

/** The tiny model.json with its manifest's paths and weights changed. */
function withManifest(change: (group: { paths: string[]; weights: Record<string, unknown>[] }) => void) {
  const m = tinyModelJson();
  const manifest = m['weightsManifest'] as { paths: string[]; weights: Record<string, unknown>[] }[];
  change(manifest[0]!);
  return m;
}

/** Zip entries of the tiny TF.js model, under `prefix`. */
function tfjsEntries(prefix = 'm/') {
  return tinyTfjsFiles().map((f) => ({ name: `${prefix}${f.path}`, data: f.bytes, deflate: true }));
}

const digit = (v: number) => pngImage(28, 28, (x, y) => [(x * y * v) & 0xff, 0, 0, 255]);

async function archiveCases(): Promise<Case[]> {
  const good = tfjsEntries();
  const zipCase = (
    id: string,
    bytes: Uint8Array,
    code: ModelLoadErrorCode | null,
    why: string,
    warning?: string,
  ): Case => ({
    id,
    kind: 'model',
    files: { [`${id}.zip`]: bytes },
    input: [`${id}.zip`],
    code,
    why,
    ...(warning ? { warning } : {}),
  });
  const cycle = await tinyKeras3Weights((file) => {
    (file.get('layers/dense') as ReturnType<typeof file.create_group>).create_hard_link('/layers', 'loop');
  });
  const selfLoop = await tinyKeras3Weights((file) => {
    (file.get('layers') as ReturnType<typeof file.create_group>).create_hard_link('/', 'up');
  });
  const deep = await tinyKeras3Weights((file) => {
    let g = file.get('layers') as ReturnType<typeof file.create_group>;
    for (let i = 0; i < 70; i++) g = g.create_group(`d${i}`);
  });
  const dagBomb = await tinyKeras3Weights((file) => {
    // 24 levels, each group linking twice to the next: 2^24 paths through 25 groups.
    const names = Array.from({ length: 25 }, (_, i) => `/dag${i}`);
    for (const n of names) file.create_group(n);
    for (let i = 0; i < 24; i++) {
      const g = file.get(names[i]!) as ReturnType<typeof file.create_group>;
      g.create_hard_link(names[i + 1]!, 'a');
      g.create_hard_link(names[i + 1]!, 'b');
    }
    (file.get('layers') as ReturnType<typeof file.create_group>).create_hard_link('/dag0', 'dag');
  });
  const external = await tinyKeras3Weights((file) => {
    (file.get('layers/dense') as ReturnType<typeof file.create_group>).create_external_link(
      '/etc/passwd',
      '/',
      'ext',
    );
    (file.get('layers') as ReturnType<typeof file.create_group>).create_soft_link(
      '/nowhere/at/all',
      'dangling',
    );
  });
  const huge = await tinyKeras3Weights(undefined, (vars) => {
    const d = vars.create_dataset({
      name: '0',
      data: new Float32Array(4),
      shape: [2, 2],
      maxshape: [null, null],
      chunks: [2, 2],
    });
    d.resize([100_000, 100_000]);
  });
  const intKernel = await tinyKeras3Weights(undefined, (vars) => {
    vars.create_dataset({ name: '0', data: Int32Array.of(0, 1, 2, 3, 4, 5), shape: [3, 2] });
  });
  const stringKernel = await tinyKeras3Weights(undefined, (vars) => {
    vars.create_dataset({ name: '0', data: ['a', 'b', 'c', 'd', 'e', 'f'], shape: [3, 2] });
  });
  const h5Huge = await tinyKeras2H5((g) => {
    const d = g.create_dataset({
      name: 'kernel:0',
      data: new Float32Array(4),
      shape: [2, 2],
      maxshape: [null, null],
      chunks: [2, 2],
    });
    d.resize([100_000, 100_000]);
  });
  const h5Cycle = await tinyKeras2H5(
    (g) =>
      void g.create_dataset({
        name: 'kernel:0',
        data: Float32Array.of(0, 0.1, 0.2, 0.3, 0.4, 0.5),
        shape: [3, 2],
      }),
    (file) =>
      (file.get('model_weights/dense') as ReturnType<typeof file.create_group>).create_hard_link(
        '/model_weights',
        'loop',
      ),
  );
  const h5Good = await tinyKeras2H5(
    (g) =>
      void g.create_dataset({
        name: 'kernel:0',
        data: Float32Array.of(0, 0.1, 0.2, 0.3, 0.4, 0.5),
        shape: [3, 2],
      }),
  );
  const goodWeights = await tinyKeras3Weights();
  const zipOf = kerasArchive;

  const withCrc = craftZip(good.map((e, i) => (i === 1 ? { ...e, crc: 0xdeadbeef } : e)));
  const lying = craftZip([
    ...good,
    { name: 'm/README.txt', data: new Uint8Array(10 * 1024 * 1024), deflate: true, size: 1000 },
  ]);
  const declaresBomb = craftZip([
    { name: 'm/model.json', data: new Uint8Array(4 * 1024 * 1024), deflate: true, size: 3_000_000_000 },
  ]);
  const truncated = craftZip(good);

  return [
    zipCase(
      'zip-bad-crc',
      withCrc,
      'BAD_ARCHIVE',
      'a shard whose CRC-32 disagrees with the directory was once accepted silently',
    ),
    zipCase(
      'zip-dotdot-entry',
      craftZip([...good, { name: '../evil.bin', data: Uint8Array.of(1) }]),
      'PATH_ESCAPE',
      "an entry named '../evil.bin' would land outside the archive's folder",
    ),
    zipCase(
      'zip-absolute-entry',
      craftZip([...good, { name: '/etc/cron.d/x', data: Uint8Array.of(1) }]),
      'PATH_ESCAPE',
      'an absolute entry path',
    ),
    zipCase(
      'zip-drive-letter',
      craftZip([...good, { name: 'C:\\Windows\\x.dll', data: Uint8Array.of(1) }]),
      'PATH_ESCAPE',
      'a Windows drive letter in an entry name',
    ),
    zipCase(
      'zip-backslash-dotdot',
      craftZip([...good, { name: '..\\..\\x.bin', data: Uint8Array.of(1) }]),
      'PATH_ESCAPE',
      "'..' spelt with backslashes",
    ),
    zipCase(
      'zip-deep-dotdot',
      craftZip([...good, { name: 'm/a/../../../x.bin', data: Uint8Array.of(1) }]),
      'PATH_ESCAPE',
      "a '..' deeper in the path that still climbs out",
    ),
    zipCase(
      'zip-truncated',
      truncated.subarray(0, Math.floor(truncated.length / 2)),
      'BAD_ARCHIVE',
      'half an archive: no end record',
    ),
    zipCase(
      'zip-no-end-record',
      enc.encode('PK\u0003\u0004 this is not really a zip archive at all'),
      'BAD_ARCHIVE',
      'a zip signature and nothing else',
    ),
    zipCase(
      'zip-declares-60000-entries',
      craftZip(good, { declareCount: 60_000 }),
      'LIMIT_EXCEEDED',
      'the end record declares 60,000 entries: refused before reading one',
    ),
    zipCase(
      'zip-declared-bomb',
      declaresBomb,
      'LIMIT_EXCEEDED',
      'an entry declaring 3 GB from 4 KB: refused by ratio before inflating',
    ),
    zipCase(
      'zip-lying-size',
      lying,
      'BAD_ARCHIVE',
      'an entry declaring 1,000 bytes that inflates to 10 MB: stopped while inflating',
    ),
    zipCase(
      'zip-overlapping-entries',
      craftZip([...good, { name: 'm/copy.bin', data: good[1]!.data, deflate: true, sameDataAs: 1 }]),
      'BAD_ARCHIVE',
      'two entries sharing one data block, the trick of overlapping zip bombs',
    ),
    zipCase(
      'zip-encrypted',
      craftZip(good.map((e) => ({ ...e, flags: 1 }))),
      'BAD_ARCHIVE',
      'encrypted entries cannot be read',
    ),
    zipCase(
      'zip-bzip2-method',
      craftZip(good.map((e) => ({ ...e, deflate: false, method: 12 }))),
      'BAD_ARCHIVE',
      'compression method 12 (bzip2) is not supported',
    ),
    zipCase(
      'zip-duplicate-names',
      craftZip([...good, { name: 'm/model.json', data: enc.encode('{}') }]),
      'BAD_ARCHIVE',
      'two entries with one name: which one is meant?',
    ),
    zipCase('zip-empty', craftZip([]), 'NO_FILES', 'an empty archive'),
    zipCase(
      'zip-only-folders',
      craftZip([
        { name: 'm/', data: new Uint8Array(0) },
        { name: 'm/sub/', data: new Uint8Array(0) },
      ]),
      'NO_FILES',
      'folders only',
    ),
    zipCase(
      'zip-in-zip',
      craftZip([{ name: 'inner.zip', data: craftZip(good) }]),
      'UNRECOGNIZED_FORMAT',
      'a model zip inside a zip is not expanded: nesting cannot multiply the limits',
    ),
    zipCase(
      'zip-header-past-end',
      (() => {
        const z = craftZip(good).slice();
        // Point the first directory record's local header offset far past the end.
        const dir = z.length - 22 - (46 + 'm/model.json'.length) - (46 + 'm/group1-shard1of1.bin'.length);
        new DataView(z.buffer).setUint32(dir + 42, 0x7fffffff, true);
        return z;
      })(),
      'BAD_ARCHIVE',
      "a directory record pointing past the archive's end",
    ),
    zipCase(
      'zip-good-with-junk',
      craftZip([
        ...good,
        { name: '__MACOSX/m/._model.json', data: Uint8Array.of(1, 2) },
        { name: 'm/.DS_Store', data: Uint8Array.of(0) },
      ]),
      null,
      'macOS junk is skipped, the model loads',
    ),
    zipCase(
      'zip-windows-separators',
      craftZip(tfjsEntries('m\\')),
      null,
      'backslash separators from Windows zippers stay inside the archive',
    ),
    zipCase(
      'zip-dotdot-inside',
      craftZip([...tfjsEntries('m/sub/../')]),
      null,
      "'m/sub/../model.json' never leaves the archive: it is m/model.json",
    ),
    {
      id: 'zip-bomb',
      kind: 'model',
      input: ['bomb.zip'],
      generate: 'zipBomb',
      code: 'LIMIT_EXCEEDED',
      why: 'a 200 KB archive that inflates to 200 MB (1000:1); the issue saw 2.4 MB take 2.2 GB',
    },
    {
      id: 'zip-total-over-limit',
      kind: 'model',
      input: ['big.zip'],
      generate: 'zipTotalOverLimit',
      code: 'LIMIT_EXCEEDED',
      why: 'three entries at a plausible 100:1 declare 2.4 GB together, over the 2 GiB archive limit',
    },
    {
      id: 'zip-10001-entries',
      kind: 'model',
      input: ['many.zip'],
      generate: 'zipManyEntries',
      code: 'LIMIT_EXCEEDED',
      why: 'a real archive with 10,001 entries',
    },

    // .keras and .h5
    {
      id: 'keras-hdf5-cycle',
      kind: 'model',
      files: { 'keras-hdf5-cycle.keras': zipOf(cycle) },
      input: ['keras-hdf5-cycle.keras'],
      code: 'CYCLE',
      why: "the issue's hang: model.weights.h5 holds a hard link /layers/dense/loop -> /layers",
    },
    {
      id: 'keras-hdf5-link-to-root',
      kind: 'model',
      files: { 'keras-hdf5-link-to-root.keras': zipOf(selfLoop) },
      input: ['keras-hdf5-link-to-root.keras'],
      code: 'CYCLE',
      why: 'a link from /layers back to the root',
    },
    {
      id: 'keras-hdf5-deep',
      kind: 'model',
      files: { 'keras-hdf5-deep.keras': zipOf(deep) },
      input: ['keras-hdf5-deep.keras'],
      code: 'LIMIT_EXCEEDED',
      why: 'groups nested 70 deep, over the depth limit',
    },
    {
      id: 'keras-hdf5-link-dag',
      kind: 'model',
      files: { 'keras-hdf5-link-dag.keras': zipOf(dagBomb) },
      input: ['keras-hdf5-link-dag.keras'],
      code: null,
      why: '25 groups each linking twice to the next: 16 million paths without a cycle; each shared group is walked once, so it loads at once',
    },
    {
      id: 'keras-hdf5-external-link',
      kind: 'model',
      files: { 'keras-hdf5-external-link.keras': zipOf(external) },
      input: ['keras-hdf5-external-link.keras'],
      code: null,
      why: 'an HDF5 external link to /etc/passwd and a dangling soft link are never followed: the model loads',
    },
    {
      id: 'keras-hdf5-huge-dataset',
      kind: 'model',
      files: { 'keras-hdf5-huge-dataset.keras': zipOf(huge) },
      input: ['keras-hdf5-huge-dataset.keras'],
      code: 'LIMIT_EXCEEDED',
      why: 'a kernel declared 100000x100000 float32 (40 GB) in a 4 KB file: refused before reading',
    },
    {
      id: 'keras-int-kernel',
      kind: 'model',
      files: { 'keras-int-kernel.keras': zipOf(intKernel) },
      input: ['keras-int-kernel.keras'],
      code: 'BAD_WEIGHTS',
      why: 'a Dense kernel stored as int32',
    },
    {
      id: 'keras-string-kernel',
      kind: 'model',
      files: { 'keras-string-kernel.keras': zipOf(stringKernel) },
      input: ['keras-string-kernel.keras'],
      code: 'BAD_WEIGHTS',
      why: 'a kernel dataset of strings once threw a plain Error',
    },
    {
      id: 'keras-bad-crc',
      kind: 'model',
      files: {
        'keras-bad-crc.keras': craftZip([
          { name: 'config.json', data: enc.encode('{}'), crc: 1 },
          { name: 'model.weights.h5', data: goodWeights },
        ]),
      },
      input: ['keras-bad-crc.keras'],
      code: 'BAD_ARCHIVE',
      why: 'a .keras member with a wrong CRC-32',
    },
    {
      id: 'keras-escaping-member',
      kind: 'model',
      files: {
        'keras-escaping-member.keras': zipOf(goodWeights, [
          { name: '../../model.weights.h5', data: goodWeights },
        ]),
      },
      input: ['keras-escaping-member.keras'],
      code: 'PATH_ESCAPE',
      why: 'a .keras member whose path climbs out of the archive',
    },
    {
      id: 'keras-good',
      kind: 'model',
      files: { 'keras-good.keras': zipOf(goodWeights) },
      input: ['keras-good.keras'],
      code: null,
      why: 'the control: the same tiny model, unbroken, loads',
    },
    {
      id: 'keras-hdf5-many-links',
      kind: 'model',
      input: ['many-links.keras'],
      generate: 'hdf5ManyLinks',
      code: 'LIMIT_EXCEEDED',
      why: 'one group with 100,001 links',
    },
    {
      id: 'h5-huge-dataset',
      kind: 'model',
      files: { 'h5-huge-dataset.h5': h5Huge },
      input: ['h5-huge-dataset.h5'],
      code: 'LIMIT_EXCEEDED',
      why: 'a Keras 2 .h5 whose kernel declares 100000x100000 float32',
    },
    {
      id: 'h5-unwalked-cycle',
      kind: 'model',
      files: { 'h5-unwalked-cycle.h5': h5Cycle },
      input: ['h5-unwalked-cycle.h5'],
      code: null,
      why: 'a cycle the Keras 2 reader never walks (it looks weights up by name) is harmless',
    },
    {
      id: 'h5-truncated',
      kind: 'model',
      files: { 'h5-truncated.h5': h5Good.subarray(0, 900) },
      input: ['h5-truncated.h5'],
      code: 'BAD_HDF5',
      why: 'the first 900 bytes of a good .h5',
    },

    // TF.js manifests
    ...(
      [
        [
          'tfjs-manifest-dotdot',
          '../../../../etc/passwd',
          "the issue's read outside the model: the file's bytes ended up in the pruned shard",
        ],
        ['tfjs-manifest-absolute', '/etc/passwd', 'an absolute manifest path'],
        ['tfjs-manifest-backslash', '..\\..\\secret.bin', "'..' spelt with backslashes"],
        ['tfjs-manifest-urlencoded', '%2e%2e/%2e%2e/secret.bin', "'..' URL-encoded"],
        ['tfjs-manifest-drive', 'C:/Windows/system.ini', 'a drive letter'],
      ] as const
    ).map(([id, path, why]): Case => ({
      id,
      kind: 'model',
      files: tfjsFolder(
        id,
        withManifest((g) => (g.paths = [path])),
      ),
      input: [id],
      code: 'PATH_ESCAPE',
      why,
    })),
    {
      id: 'tfjs-manifest-dotdot-inside',
      kind: 'model',
      files: tfjsFolder(
        'tfjs-manifest-dotdot-inside',
        withManifest((g) => (g.paths = ['sub/../group1-shard1of1.bin'])),
      ),
      input: ['tfjs-manifest-dotdot-inside'],
      code: null,
      why: "'sub/../x.bin' stays in the model's folder",
    },
    {
      id: 'tfjs-huge-shape',
      kind: 'model',
      files: tfjsFolder(
        'tfjs-huge-shape',
        withManifest((g) => (g.weights[0]!['shape'] = [100_000, 100_000])),
      ),
      input: ['tfjs-huge-shape'],
      code: 'LIMIT_EXCEEDED',
      why: 'a weight declared 100000x100000 float32: refused before any shard is read',
    },
    {
      id: 'tfjs-total-over-limit',
      kind: 'model',
      files: tfjsFolder(
        'tfjs-total-over-limit',
        withManifest((g) => {
          g.weights = [0, 1, 2].map((i) => ({
            name: `w${i}/kernel`,
            shape: [15_000, 15_000],
            dtype: 'float32',
          }));
        }),
      ),
      input: ['tfjs-total-over-limit'],
      code: 'LIMIT_EXCEEDED',
      why: 'three weights of 900 MB each, every one under the tensor limit, 2.7 GB together',
    },
    {
      id: 'tfjs-int32-kernel',
      kind: 'model',
      files: tfjsFolder(
        'tfjs-int32-kernel',
        withManifest((g) => (g.weights[0]!['dtype'] = 'int32')),
      ),
      input: ['tfjs-int32-kernel'],
      code: 'BAD_WEIGHTS',
      why: 'a float kernel declared int32 was accepted silently',
    },
    {
      id: 'tfjs-shape-bytes-mismatch',
      kind: 'model',
      files: tfjsFolder(
        'tfjs-shape-bytes-mismatch',
        withManifest((g) => (g.weights[0]!['shape'] = [3, 3])),
      ),
      input: ['tfjs-shape-bytes-mismatch'],
      code: 'SHARD_SIZE_MISMATCH',
      why: 'the manifest declares more bytes than the shard holds',
    },
    {
      id: 'tfjs-fractional-shape',
      kind: 'model',
      files: tfjsFolder(
        'tfjs-fractional-shape',
        withManifest((g) => (g.weights[0]!['shape'] = [2.5, 2])),
      ),
      input: ['tfjs-fractional-shape'],
      code: 'BAD_TOPOLOGY',
      why: 'a shape with a fraction',
    },
  ];
}

function samplesCases(): Case[] {
  const header = (fill: (v: DataView) => void) => {
    const b = plss(2, [28, 28, 1], 10, (i) => i).slice();
    fill(new DataView(b.buffer));
    return b;
  };
  const plssCase = (
    id: string,
    bytes: Uint8Array,
    code: ModelLoadErrorCode | null,
    why: string,
    warning?: string,
  ): Case => ({
    id,
    kind: 'samples',
    files: { [`${id}.plss`]: bytes },
    input: [`${id}.plss`],
    code,
    why,
    ...(warning ? { warning } : {}),
  });
  const folder = (id: string, files: Record<string, Uint8Array>) =>
    Object.fromEntries(Object.entries(files).map(([p, b]) => [`${id}/${p}`, b]));
  const good = plss(3, [28, 28, 1], 10, (i) => i);
  const mixedImages = (
    id: string,
    extra: Record<string, Uint8Array>,
    code: ModelLoadErrorCode | null,
    why: string,
    warning?: string,
  ): Case => ({
    id,
    kind: 'samples',
    files: folder(id, { '3/a.png': digit(3), '7/b.png': digit(7), ...extra }),
    input: [id],
    code,
    why,
    ...(warning ? { warning } : {}),
  });
  const only = (
    id: string,
    files: Record<string, Uint8Array>,
    code: ModelLoadErrorCode,
    why: string,
  ): Case => ({
    id,
    kind: 'samples',
    files: folder(id, files),
    input: [id],
    code,
    why,
  });
  return [
    plssCase(
      'plss-empty',
      plss(0, [28, 28, 1], 10, () => 0),
      'BAD_SAMPLES',
      "an empty set once gave 'Accuracy n/a on 0 samples'",
    ),
    plssCase(
      'plss-label-past-outputs',
      plss(3, [28, 28, 1], 20, (i) => [1, 12, 3][i]!),
      'BAD_SAMPLES',
      "label 12 for a 10-class model once gave 'Accuracy 0.00%'",
    ),
    plssCase(
      'plss-label-255',
      plss(2, [28, 28, 1], 256, (i) => (i === 0 ? 255 : 0)),
      'BAD_SAMPLES',
      'label 255',
    ),
    plssCase(
      'plss-wrong-size',
      plss(2, [32, 32, 3], 10, (i) => i),
      'BAD_SAMPLES',
      '32x32x3 samples for a 28x28x1 model: say what it expects and how to fix it',
    ),
    plssCase(
      'plss-wrong-channels',
      plss(2, [28, 28, 3], 10, (i) => i),
      'BAD_SAMPLES',
      'RGB samples for a grayscale model',
    ),
    plssCase(
      'plss-wrong-height',
      plss(2, [14, 28, 1], 10, (i) => i),
      'BAD_SAMPLES',
      'half-height samples',
    ),
    plssCase(
      'plss-header-only-20-bytes',
      good.subarray(0, 20),
      'BAD_SAMPLES',
      'shorter than its 32-byte header',
    ),
    plssCase(
      'plss-truncated-data',
      good.subarray(0, 1000),
      'BAD_SAMPLES',
      'the header promises 3 samples, 1,000 bytes are there',
    ),
    plssCase(
      'plss-trailing-bytes',
      Uint8Array.from([...good, 1, 2, 3]),
      'BAD_SAMPLES',
      'bytes after the labels',
    ),
    plssCase(
      'plss-version-9',
      header((v) => v.setUint32(4, 9, true)),
      'BAD_SAMPLES',
      'an unknown version',
    ),
    plssCase(
      'plss-unknown-flags',
      header((v) => v.setUint32(28, 0x81, true)),
      'BAD_SAMPLES',
      'flag bits nobody defined',
    ),
    plssCase(
      'plss-zero-height',
      header((v) => v.setUint32(12, 0, true)),
      'BAD_SAMPLES',
      'samples 0 pixels high',
    ),
    plssCase(
      'plss-declares-4-billion',
      header((v) => v.setUint32(8, 0xffffffff, true)),
      'BAD_SAMPLES',
      'a header declaring 4,294,967,295 samples (3 TB) in a 1.6 KB file: checked against the bytes present, nothing allocated',
    ),
    plssCase(
      'plss-labelled-0-classes',
      header((v) => v.setUint32(24, 0, true)),
      'BAD_SAMPLES',
      'labelled, with 0 classes',
    ),
    plssCase(
      'plss-label-ge-own-classes',
      plss(2, [28, 28, 1], 2, () => 0).map((b, i, a) => (i === a.length - 1 ? 5 : b)),
      'BAD_SAMPLES',
      "a label past the set's own class count",
    ),
    plssCase(
      'plss-not-plss',
      enc.encode('PLSX this is not a sample set'),
      'BAD_SAMPLES',
      'no PLSS magic and not an image either',
    ),
    plssCase(
      'plss-more-classes-than-model',
      plss(3, [28, 28, 1], 12, (i) => i),
      null,
      'a set declaring 12 classes whose labels all fit the 10 outputs loads, with a note',
      'declares 12 classes',
    ),
    plssCase(
      'plss-unlabelled',
      plss(3, [28, 28, 1], 0, null),
      null,
      'an unlabelled set is fine for agreement',
    ),
    only(
      'images-none',
      { 'README.txt': enc.encode('no images here\n') },
      'BAD_SAMPLES',
      'a folder with no images',
    ),
    only(
      'images-png-30000',
      { '3/huge.png': pngHeaderOnly(30_000, 30_000) },
      'LIMIT_EXCEEDED',
      "the issue's PNG claiming 30000x30000 took 8.7 GB and 46 s: refused from its header",
    ),
    only(
      'images-png-100-megapixels',
      { '3/wide.png': pngHeaderOnly(10_000, 10_000) },
      'LIMIT_EXCEEDED',
      '10000x10000 is under the side limit but 100 MP, over the pixel limit',
    ),
    only(
      'images-jpeg-30000',
      { '3/huge.jpg': jpegHeaderOnly(30_000, 30_000) },
      'LIMIT_EXCEEDED',
      'a JPEG frame header declaring 30000x30000',
    ),
    only(
      'images-gif-60000',
      { '3/huge.gif': gifHeaderOnly(60_000, 60_000) },
      'LIMIT_EXCEEDED',
      'a GIF screen of 60000x60000',
    ),
    only(
      'images-bmp-40000',
      { '3/huge.bmp': bmpHeaderOnly(40_000, -40_000) },
      'LIMIT_EXCEEDED',
      'a top-down BMP of 40000x40000',
    ),
    only(
      'images-webp-20000',
      { '3/huge.webp': webpHeaderOnly(20_000, 20_000) },
      'LIMIT_EXCEEDED',
      'a WebP canvas of 20000x20000',
    ),
    mixedImages(
      'images-one-huge-among-good',
      { '3/huge.png': pngHeaderOnly(30_000, 30_000) },
      null,
      'one huge image is skipped with its reason; the others load',
      'over the 16384x16384 limit',
    ),
    only(
      'images-label-past-outputs',
      { '12/a.png': digit(1), '15/b.png': digit(2) },
      'BAD_SAMPLES',
      'class folders 12 and 15 for a 10-output model: nothing left, and the message says why',
    ),
    mixedImages(
      'images-some-labels-past-outputs',
      { '12/c.png': digit(4) },
      null,
      'the class-12 image is skipped, the rest load',
      "Class '12' is output 12",
    ),
    mixedImages(
      'images-other-size',
      { '5/big.png': pngImage(64, 48) },
      null,
      'images of another size are resized to the model input by preprocessing',
    ),
    only(
      'images-corrupt-png',
      { '3/a.png': pngImage(28, 28).subarray(0, 60) },
      'BAD_SAMPLES',
      'a cut PNG and nothing else',
    ),
    only(
      'images-tiny-png-header',
      { '3/a.png': pngImage(28, 28).subarray(0, 12) },
      'BAD_SAMPLES',
      'a PNG cut inside its header',
    ),
    only(
      'images-csv-missing-files',
      { 'labels.csv': enc.encode('file,label\nnope.png,3\ngone.png,4\n'), 'x.png': digit(1) },
      'BAD_SAMPLES',
      'a CSV naming files that are not there',
    ),
    only(
      'images-zip-escape',
      { 'digits.zip': craftZip([{ name: '../3/a.png', data: digit(3) }]) },
      'PATH_ESCAPE',
      "a zip of images whose entry climbs out with '../'",
    ),
    only(
      'images-zip-bad-crc',
      { 'digits.zip': craftZip([{ name: '3/a.png', data: digit(3), crc: 7 }]) },
      'BAD_SAMPLES',
      'a zip of images with a wrong CRC',
    ),
    only(
      'images-zip-declared-bomb',
      {
        'digits.zip': craftZip([
          { name: '3/a.png', data: new Uint8Array(4 << 20), deflate: true, size: 2_000_000_000 },
        ]),
      },
      'LIMIT_EXCEEDED',
      'an image entry declaring 2 GB from a few KB',
    ),
    only(
      'images-zip-3-deep',
      {
        'a.zip': craftZip([
          {
            name: 'b.zip',
            data: craftZip([{ name: 'c.zip', data: craftZip([{ name: '3/a.png', data: digit(3) }]) }]),
          },
        ]),
      },
      'BAD_SAMPLES',
      'zips nested three deep are not opened',
    ),
    mixedImages(
      'images-zip-2-deep',
      { 'more.zip': craftZip([{ name: 'in.zip', data: craftZip([{ name: '5/a.png', data: digit(5) }]) }]) },
      null,
      'a zip in a zip is still read',
    ),
    {
      id: 'images-png-bomb',
      kind: 'samples',
      input: ['digits'],
      generate: 'pngBomb',
      code: 'LIMIT_EXCEEDED',
      why: 'a real 20000x20000 PNG of about 400 KB (1.6 GB as RGBA)',
    },
    {
      id: 'images-zip-bomb',
      kind: 'samples',
      input: ['digits.zip'],
      generate: 'samplesZipBomb',
      code: 'LIMIT_EXCEEDED',
      why: 'a zip of images whose one entry inflates 1000:1',
    },
    {
      id: 'images-deflate-raw-bytes',
      kind: 'samples',
      files: folder('images-deflate-raw-bytes', { '3/a.png': deflateSync(new Uint8Array(1000)) }),
      input: ['images-deflate-raw-bytes'],
      code: 'BAD_SAMPLES',
      why: 'a .png that is not an image',
    },
  ];
}

/** JSON as the repository's Prettier writes it, so that `npm run format:check` passes over the corpus. */
async function pretty(path: string, text: string): Promise<string> {
  return format(text, { ...(await resolveConfig(path)), filepath: path });
}

async function writeArea(area: string, cases: Case[]): Promise<void> {
  const dir = join(ROOT, area);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`two cases named ${c.id}`);
    ids.add(c.id);
    for (const [path, bytes] of Object.entries(c.files ?? {})) {
      const full = join(dir, path);
      await mkdir(dirname(full), { recursive: true });
      // Well-formed JSON is stored as Prettier formats it (same meaning, and the format check passes).
      let out: Uint8Array | string = bytes;
      if (full.endsWith('.json')) {
        try {
          out = await pretty(full, new TextDecoder().decode(bytes));
        } catch {
          out = bytes; // malformed on purpose: kept byte for byte
        }
      }
      await writeFile(full, out);
    }
  }
  const listed = cases.map(({ files: _files, ...c }) => c);
  const casesPath = join(dir, 'cases.json');
  await writeFile(casesPath, await pretty(casesPath, JSON.stringify(listed)));
  console.log(`${area}: ${cases.length} cases`);
}

await writeArea('archive', await archiveCases());
await writeArea('samples', samplesCases());
