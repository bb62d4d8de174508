/**
 * The CLI on PyTorch's ONNX exports (the wasm backend, as the CLI runs by default): every command
 * opens a .onnx, `prune --format onnx` and `finetune --format onnx` write the user's own file back,
 * external-data files beside a .onnx are read, and onnxruntime-node checks what was written.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeSampleSet } from '../core/evaluate/sample-set';
import { decodeModel, encodeModel, onnx, readTensor } from '../core/io/onnx/proto';
import type { OnnxProvenance } from '../core/io/onnx/export';
import { main } from './main';

const FIXTURES = new URL('../core/io/__fixtures__/onnx/', import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES);

let dir: string;

/** Runs the CLI in process on its default (wasm) backend, capturing stdout and stderr. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const heldout = readFileSync(fixture('mnist_heldout_2000.bin'));
const pixels = new Uint8Array(heldout.buffer, heldout.byteOffset, 2000 * 784);
const labels = new Uint8Array(heldout.buffer, heldout.byteOffset + 2000 * 784, 2000);

/** Top-1 accuracy of an ONNX file on held-out digits [from, to), run by onnxruntime (NCHW, byte / 255). */
async function ortAccuracy(path: string, from: number, to: number): Promise<number> {
  const session = await ort.InferenceSession.create(path);
  try {
    const n = to - from;
    const x = Float32Array.from(pixels.subarray(from * 784, to * 784), (b) => b / 255);
    const y = await session.run({ input: new ort.Tensor('float32', x, [n, 1, 28, 28]) });
    const logits = y['output']!.data as Float32Array;
    let right = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits[i * 10 + k]! > logits[i * 10 + best]!) best = k;
      if (best === labels[from + i]) right++;
    }
    return right / n;
  } finally {
    await session.release();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prunelab-onnx-'));
  copyFileSync(fixture('mnist_cnn_trained_bn.onnx'), join(dir, 'mnist.onnx'));
  const set = (from: number, to: number) =>
    encodeSampleSet({
      count: to - from,
      height: 28,
      width: 28,
      channels: 1,
      numClasses: 10,
      // One channel: NCHW and NHWC bytes are the same.
      pixels: pixels.slice(from * 784, to * 784),
      labels: labels.slice(from, to),
    });
  writeFileSync(join(dir, 'train.plss'), set(0, 1000));
  writeFileSync(join(dir, 'test.plss'), set(1000, 2000));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prunelab on ONNX files', () => {
  it('inspect opens a .onnx and names the residual group', async () => {
    const r = await cli('inspect', join(dir, 'mnist.onnx'), '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as { groups: { producers?: string[]; prunable: boolean }[] };
    // conv2 and res_conv2 add into one stream: one group of two producers.
    expect(info.groups.some((g) => g.prunable && g.producers?.join() === 'conv2,res_conv2')).toBe(true);
  });

  it('reads external-data files beside the .onnx', async () => {
    const model = decodeModel({
      path: 'm.onnx',
      bytes: new Uint8Array(readFileSync(join(dir, 'mnist.onnx'))),
    });
    const fc1 = model.graph!.initializer!.find((t) => t.name === 'fc1.weight')!;
    const raw = fc1.rawData!;
    writeFileSync(join(dir, 'ext.onnx.data'), raw);
    fc1.rawData = new Uint8Array();
    fc1.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    fc1.externalData = [
      onnx.StringStringEntryProto.create({ key: 'location', value: 'ext.onnx.data' }),
      onnx.StringStringEntryProto.create({ key: 'offset', value: '0' }),
      onnx.StringStringEntryProto.create({ key: 'length', value: String(raw.byteLength) }),
    ];
    writeFileSync(join(dir, 'ext.onnx'), encodeModel(model));
    const r = await cli(
      'prune',
      join(dir, 'ext.onnx'),
      '--ratio',
      '0.25',
      '--format',
      'onnx',
      '--out',
      join(dir, 'ext-pruned.onnx'),
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // Written inline, fc1 sliced on its input columns (a quarter of conv2's 32 channels, 49 positions each).
    const out = decodeModel({
      path: 'p.onnx',
      bytes: new Uint8Array(readFileSync(join(dir, 'ext-pruned.onnx'))),
    });
    const t = out.graph!.initializer!.find((i) => i.name === 'fc1.weight')!;
    expect(readTensor(t).dims).toEqual([48, 24 * 49]);
    expect(await ortAccuracy(join(dir, 'ext-pruned.onnx'), 1000, 1100)).toBeGreaterThan(0.5);
  });

  it('prune 50% of FLOPs -> finetune -> evaluate: onnxruntime agrees with PruneLab within 1 point', async () => {
    const pruned = join(dir, 'pruned.onnx');
    const p = await cli(
      'prune',
      join(dir, 'mnist.onnx'),
      '--target-flops',
      '0.5',
      '--criterion',
      'l1',
      '--normalize',
      'mean',
      '--format',
      'onnx',
      '--out',
      pruned,
      '--json',
    );
    expect(p.err).toBe('');
    expect(p.code).toBe(0);
    const summary = JSON.parse(p.out) as { files: string[]; flops: { before: number; after: number } };
    expect(summary.files).toEqual(['pruned.onnx', 'pruned.prunelab.json']);
    expect(summary.flops.after / summary.flops.before).toBeLessThanOrEqual(0.5);
    const sidecar = JSON.parse(readFileSync(join(dir, 'pruned.prunelab.json'), 'utf8')) as OnnxProvenance;
    expect(sidecar.initializers['fc1.weight']?.kept[1]?.length).toBeLessThan(1568);

    const tuned = join(dir, 'tuned.onnx');
    const f = await cli(
      'finetune',
      pruned,
      '--samples',
      join(dir, 'train.plss'),
      '--epochs',
      '2',
      '--val-split',
      '0.1',
      '--format',
      'onnx',
      '--out',
      tuned,
      '--json',
    );
    expect(f.code, f.err).toBe(0);
    const e = await cli('evaluate', tuned, '--samples', join(dir, 'test.plss'), '--json');
    expect(e.code, e.err).toBe(0);
    const ours = (JSON.parse(e.out) as { accuracy: number }).accuracy;
    const theirs = await ortAccuracy(tuned, 1000, 2000);
    console.log(
      `MNIST ONNX, 50% of FLOPs removed, fine-tuned 2 epochs on 900 digits: PruneLab ${ours}, onnxruntime ${theirs} (1000 held-out digits)`,
    );
    expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(0.01);
    expect(ours).toBeGreaterThan(0.9);
  }, 300_000);

  it('--format onnx refuses a model that did not come from an ONNX file, saying so', async () => {
    const sample = new URL('../../public/samples/mnist-cnn/model.json', import.meta.url).pathname;
    const r = await cli('prune', sample, '--ratio', '0.1', '--format', 'onnx', '--out', join(dir, 'x.onnx'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/not opened from an ONNX file/);
  });
});
