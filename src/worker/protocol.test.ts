import { describe, expect, it } from 'vitest';
import { ModelLoadError, isModelLoadError } from '../core/io/errors';
import type { OpenedModel } from '../core/load';
import { deserializeError, serializeError, totalBytes, transferablesOf } from './protocol';

/** What crossing postMessage does to a value. */
function acrossWorker<T>(value: T): T {
  return structuredClone(value);
}

describe('error (de)serialisation across the worker boundary', () => {
  it('a ModelLoadError comes back typed, with code, message, file and layer', () => {
    const original = new ModelLoadError(
      'CYCLE',
      "HDF5 link '/layers/conv2d/loop' points back to '/layers'.",
      {
        file: 'model.weights.h5',
        layer: 'conv2d',
      },
    );
    const back = deserializeError(acrossWorker(serializeError(original)));
    expect(back).toBeInstanceOf(ModelLoadError);
    expect(isModelLoadError(back)).toBe(true);
    expect(back).toMatchObject({
      name: 'ModelLoadError',
      code: 'CYCLE',
      message: original.message,
      file: 'model.weights.h5',
      layer: 'conv2d',
    });
    expect(back.stack).toBe(original.stack);
  });

  it('leaves file and layer absent when the error had none', () => {
    const back = deserializeError(acrossWorker(serializeError(new ModelLoadError('NO_FILES', 'No files.'))));
    expect(isModelLoadError(back) && back.code).toBe('NO_FILES');
    expect(isModelLoadError(back) && back.file).toBeUndefined();
    expect(isModelLoadError(back) && back.layer).toBeUndefined();
  });

  it('structured clone alone would lose the code: that is why errors travel as data', () => {
    const cloned = acrossWorker(new ModelLoadError('BAD_HDF5', 'x'));
    expect((cloned as Partial<ModelLoadError>).code).toBeUndefined();
  });

  it('other errors keep their name and message; thrown non-errors become their string', () => {
    const range = deserializeError(
      acrossWorker(serializeError(new RangeError('Array buffer allocation failed'))),
    );
    expect(range.name).toBe('RangeError');
    expect(range.message).toBe('Array buffer allocation failed');
    expect(isModelLoadError(range)).toBe(false);
    expect(deserializeError(acrossWorker(serializeError('boom'))).message).toBe('boom');
    expect(deserializeError(acrossWorker(serializeError(undefined))).message).toBe('undefined');
  });
});

describe('transfer lists', () => {
  it('lists each weight buffer once, even when several weights view one buffer', () => {
    const shard = new ArrayBuffer(64);
    const own = new Float32Array(4);
    const model = {
      artifacts: {
        modelTopology: {},
        weights: [
          { name: 'a/kernel', shape: [4], dtype: 'float32', values: new Float32Array(shard, 0, 4) },
          { name: 'a/bias', shape: [4], dtype: 'float32', values: new Float32Array(shard, 16, 4) },
          { name: 'b/kernel', shape: [4], dtype: 'float32', values: own },
        ],
      },
    } as unknown as OpenedModel;
    const list = transferablesOf(model);
    expect(list).toHaveLength(2);
    expect(list).toContain(shard);
    expect(list).toContain(own.buffer);
    // And the list is valid for postMessage: transferring it moves the buffers.
    structuredClone(model, { transfer: list });
    expect(shard.byteLength).toBe(0);
  });

  it('totals the bytes of the files', () => {
    expect(
      totalBytes([
        { path: 'a', bytes: new Uint8Array(3) },
        { path: 'b', bytes: new Uint8Array(5) },
      ]),
    ).toBe(8);
  });
});
