import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InputFile } from '../core/ir/artifacts';
import { isModelLoadError, ModelLoadError } from '../core/io/errors';
import { loadModel } from '../core/load';
import {
  DEFAULT_LOAD_TIMEOUT_MS,
  defaultLoadTimeoutMs,
  openModelOffThread,
  parseLoadTimeoutParam,
  releaseIdleWorker,
} from './open-model-client';
import { answerRequest } from './open-model-handler';
import type { WorkerRequest, WorkerResponse } from './protocol';

const SAMPLE = join(import.meta.dirname, '..', '..', 'public', 'samples', 'mnist-cnn');

function sampleFiles(): InputFile[] {
  return ['model.json', 'group1-shard1of1.bin'].map((path) => ({
    path,
    bytes: new Uint8Array(readFileSync(join(SAMPLE, path))),
  }));
}

async function rejection(p: Promise<unknown>): Promise<ModelLoadError> {
  try {
    await p;
  } catch (e) {
    if (isModelLoadError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/**
 * A stand-in for a browser Worker in Node: messages cross `structuredClone` with their transfer lists,
 * as postMessage does, and the real request handler answers them. `mode` makes it misbehave.
 */
class FakeWorker extends EventTarget {
  static mode: 'normal' | 'silent' | 'fails-to-start' | 'dies' = 'normal';
  static created: FakeWorker[] = [];
  terminated = false;
  received: WorkerRequest[] = [];

  constructor(_url: URL | string, _opts?: WorkerOptions) {
    super();
    FakeWorker.created.push(this);
    setTimeout(() => {
      if (FakeWorker.mode === 'fails-to-start') this.dispatchEvent(new Event('error'));
      else this.emit({ type: 'ready' }, []);
    });
  }

  postMessage(message: WorkerRequest, transfer: Transferable[] = []): void {
    const request = structuredClone(message, { transfer });
    this.received.push(request);
    if (FakeWorker.mode === 'silent' || FakeWorker.mode === 'fails-to-start') return;
    if (FakeWorker.mode === 'dies') {
      // After `ready` (two ticks) and a progress message: it died while parsing.
      this.emit({ type: 'progress', id: request.id, phase: 'parsing' }, []);
      setTimeout(
        () => this.dispatchEvent(Object.assign(new Event('error'), { message: 'out of memory' })),
        20,
      );
      return;
    }
    void answerRequest(request, (m, t) => this.emit(m, t));
  }

  terminate(): void {
    this.terminated = true;
  }

  private emit(message: WorkerResponse, transfer: Transferable[]): void {
    if (this.terminated) return;
    const data = structuredClone(message, { transfer });
    setTimeout(() => {
      if (!this.terminated) this.dispatchEvent(new MessageEvent('message', { data }));
    });
  }
}

afterEach(() => {
  releaseIdleWorker();
  vi.unstubAllGlobals();
  FakeWorker.mode = 'normal';
  FakeWorker.created = [];
});

describe('openModelOffThread without Worker (Node): the loader on this thread', () => {
  it('opens the sample as loadModel does and says where it ran', async () => {
    expect(typeof Worker).toBe('undefined');
    const phases: string[] = [];
    const opened = await openModelOffThread(sampleFiles(), { onProgress: (p) => phases.push(p) });
    const direct = await loadModel(sampleFiles());
    expect(opened.ranIn).toBe('thread');
    expect(opened.ir).toEqual(direct.ir);
    expect(opened.graph).toEqual(direct.graph);
    expect(opened.artifacts.weights.map((w) => w.name)).toEqual(direct.artifacts.weights.map((w) => w.name));
    expect(phases).toEqual(['parsing on the page']);
  });

  it("rejects with the loader's own typed error", async () => {
    const [json] = sampleFiles();
    const err = await rejection(openModelOffThread([json!]));
    expect(err.code).toBe('MISSING_SHARD');
    expect(err.message).toContain('group1-shard1of1.bin');
  });

  it('an already aborted signal is CANCELLED before any work', async () => {
    const err = await rejection(openModelOffThread(sampleFiles(), { signal: AbortSignal.abort() }));
    expect(err.code).toBe('CANCELLED');
    expect(err.message).toContain("'model.json'");
  });
});

describe('openModelOffThread with a worker', () => {
  it('opens in the worker, keeps the caller’s bytes, and reuses the idle worker', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    const files = sampleFiles();
    const sizes = files.map((f) => f.bytes.byteLength);
    const phases: string[] = [];
    const opened = await openModelOffThread(files, { onProgress: (p) => phases.push(p) });
    expect(opened.ranIn).toBe('worker');
    expect(phases).toEqual(['starting', 'parsing', 'receiving']);
    const direct = await loadModel(sampleFiles());
    expect(opened.ir).toEqual(direct.ir);
    expect(opened.graph).toEqual(direct.graph);
    expect(opened.artifacts.weights[0]!.values).toEqual(direct.artifacts.weights[0]!.values);
    // Copied, not detached: the same files can be opened again (a retry).
    expect(files.map((f) => f.bytes.byteLength)).toEqual(sizes);
    const again = await openModelOffThread(files);
    expect(again.ranIn).toBe('worker');
    expect(FakeWorker.created).toHaveLength(1);
  });

  it('with transfer: true, hands the buffers over instead', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    const files = sampleFiles();
    await openModelOffThread(files, { transfer: true });
    expect(files.every((f) => f.bytes.byteLength === 0)).toBe(true);
  });

  it('re-creates the typed error the worker reports (code, message, file)', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    const err = await rejection(
      openModelOffThread([{ path: 'notes.txt', bytes: new TextEncoder().encode('hi') }]),
    );
    expect(err).toBeInstanceOf(ModelLoadError);
    const direct = await rejection(loadModel([{ path: 'notes.txt', bytes: new TextEncoder().encode('hi') }]));
    expect({ code: err.code, message: err.message, file: err.file, layer: err.layer }).toEqual({
      code: direct.code,
      message: direct.message,
      file: direct.file,
      layer: direct.layer,
    });
  });

  it('stops a worker that runs past the limit: TIMEOUT naming the file and the limit in seconds', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    FakeWorker.mode = 'silent';
    const err = await rejection(
      openModelOffThread([{ path: 'cycle.keras', bytes: new Uint8Array(10) }], { timeoutMs: 50 }),
    );
    expect(err.code).toBe('TIMEOUT');
    expect(err.file).toBe('cycle.keras');
    expect(err.message).toContain("'cycle.keras'");
    expect(err.message).toContain('0.05 s');
    expect(FakeWorker.created[0]!.terminated).toBe(true);
  });

  it('Cancel terminates the worker: CANCELLED, and the next open starts a new one', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    FakeWorker.mode = 'silent';
    const controller = new AbortController();
    const pending = openModelOffThread(sampleFiles(), { signal: controller.signal });
    controller.abort();
    const err = await rejection(pending);
    expect(err.code).toBe('CANCELLED');
    expect(err.message).toBe("Opening 'model.json', 'group1-shard1of1.bin' was cancelled.");
    expect(FakeWorker.created[0]!.terminated).toBe(true);
    FakeWorker.mode = 'normal';
    expect((await openModelOffThread(sampleFiles())).ranIn).toBe('worker');
    expect(FakeWorker.created).toHaveLength(2);
  });

  it('falls back to this thread when the worker cannot start, and says so', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    FakeWorker.mode = 'fails-to-start';
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const opened = await openModelOffThread(sampleFiles());
    expect(opened.ranIn).toBe('thread');
    expect(info).toHaveBeenCalledWith(expect.stringContaining('parsing on the page instead'));
    expect(FakeWorker.created[0]!.terminated).toBe(true);
    info.mockRestore();
  });

  it('falls back too when the Worker constructor throws', async () => {
    vi.stubGlobal(
      'Worker',
      class {
        constructor() {
          throw new Error('Workers are not allowed here');
        }
      },
    );
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    expect((await openModelOffThread(sampleFiles())).ranIn).toBe('thread');
    info.mockRestore();
  });

  it('a worker that dies while parsing is an error, not a silent retry on the page', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    FakeWorker.mode = 'dies';
    await expect(openModelOffThread(sampleFiles())).rejects.toThrow(
      "The background loader stopped while opening 'model.json', 'group1-shard1of1.bin': out of memory.",
    );
    expect(FakeWorker.created[0]!.terminated).toBe(true);
  });
});

describe('time limits', () => {
  it('60 s plus 1 s per MiB by default', () => {
    expect(defaultLoadTimeoutMs(0)).toBe(DEFAULT_LOAD_TIMEOUT_MS);
    expect(defaultLoadTimeoutMs(3_124_024)).toBe(63_000);
    expect(defaultLoadTimeoutMs(500 * 1024 * 1024)).toBe(560_000);
  });

  it('?loadTimeoutMs= lowers it for tests; anything else is ignored', () => {
    expect(parseLoadTimeoutParam('?backend=wasm&loadTimeoutMs=250')).toBe(250);
    expect(parseLoadTimeoutParam('?loadTimeoutMs=')).toBeUndefined();
    expect(parseLoadTimeoutParam('?loadTimeoutMs=abc')).toBeUndefined();
    expect(parseLoadTimeoutParam('?loadTimeoutMs=-5')).toBeUndefined();
    expect(parseLoadTimeoutParam('')).toBeUndefined();
  });
});
