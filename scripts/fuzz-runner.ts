/**
 * Runs seeded model-fuzz cases (src/core/testing/fuzz.ts) in a child process with a watchdog: a case
 * that does not finish within the time limit is a hang, the child is killed and a fresh one goes on
 * with the next case. Used by `scripts/fuzz.ts` (long runs, a table) and `src/core/io/fuzz.test.ts`.
 *
 * Seeds: the bundled sample (model.json + shard), a Keras 2.13 `.keras` and a Keras 2 ResNet-8 `.h5`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);

export interface SeedSpec {
  name: string;
  kind: 'tfjs' | 'keras' | 'h5';
  paths: string[];
}

export const SEEDS: SeedSpec[] = [
  {
    name: 'sample',
    kind: 'tfjs',
    paths: ['public/samples/mnist-cnn/model.json', 'public/samples/mnist-cnn/group1-shard1of1.bin'],
  },
  {
    name: 'keras',
    kind: 'keras',
    paths: ['src/core/io/__fixtures__/keras/k2_13_sudoku_digits_windows.keras'],
  },
  { name: 'h5', kind: 'h5', paths: ['src/core/io/__fixtures__/keras/k2_resnet8_cifar10.h5'] },
];

/** One finished case as the parent records it. */
export interface CaseRecord {
  index: number;
  seed: string;
  mutation: string;
  result: 'accepted' | 'typed' | 'untyped' | 'hang' | 'crash';
  stage?: string;
  code?: string;
  message?: string;
  leaked: number;
  ms: number;
  rss: number;
  tfBytes: number;
}

export interface FuzzReport {
  cases: CaseRecord[];
  baseline: { rss: number };
}

interface ChildMessage {
  kind: 'ready' | 'case';
  record?: CaseRecord;
  rss?: number;
}

/** The case seed for case `i` of a run seeded `seed` (independent of how cases are split across children). */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * Runs cases `0..n-1` of a seeded run, each limited to `timeoutMs` (hang) and reported through
 * `onCase`. Resolves with every record.
 */
export async function runFuzz(opts: {
  n: number;
  seed: number;
  timeoutMs: number;
  onCase?: (r: CaseRecord) => void;
}): Promise<FuzzReport> {
  const cases: CaseRecord[] = [];
  let next = 0;
  let baselineRss = 0;
  while (next < opts.n) {
    const from = next;
    await new Promise<void>((resolve) => {
      const child: ChildProcess = fork(SELF, ['--child', String(opts.seed), String(from), String(opts.n)], {
        execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-2000);
      });
      let timer: NodeJS.Timeout | undefined;
      let finished = false;
      const arm = (ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (finished) return;
          finished = true;
          const s = SEEDS[next % SEEDS.length]!;
          const r: CaseRecord = {
            index: next,
            seed: s.name,
            mutation: '(see seed)',
            result: 'hang',
            leaked: 0,
            ms: ms,
            rss: 0,
            tfBytes: 0,
          };
          cases.push(r);
          opts.onCase?.(r);
          next++;
          child.kill('SIGKILL');
          resolve();
        }, ms);
      };
      arm(60_000 + opts.timeoutMs); // start-up: tfjs, wasm, h5wasm
      child.on('message', (m: ChildMessage) => {
        if (m.kind === 'ready') {
          if (baselineRss === 0) baselineRss = m.rss ?? 0;
          arm(opts.timeoutMs);
          return;
        }
        const r = m.record!;
        cases.push(r);
        opts.onCase?.(r);
        next = r.index + 1;
        arm(opts.timeoutMs);
      });
      child.on('exit', () => {
        clearTimeout(timer);
        if (finished) return;
        finished = true;
        if (next < opts.n) {
          // Died mid-case (out of memory, a wasm abort): record it and go on with the next case.
          const s = SEEDS[next % SEEDS.length]!;
          const r: CaseRecord = {
            index: next,
            seed: s.name,
            mutation: '(see seed)',
            result: 'crash',
            message: stderr.split('\n').filter(Boolean).slice(-3).join(' | '),
            leaked: 0,
            ms: 0,
            rss: 0,
            tfBytes: 0,
          };
          cases.push(r);
          opts.onCase?.(r);
          next++;
        }
        resolve();
      });
    });
  }
  return { cases, baseline: { rss: baselineRss } };
}

async function child(seed: number, from: number, n: number): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { initNodeBackend } = await import('../src/node/tf-node');
  const { mutateModel, runFuzzCase } = await import('../src/core/testing/fuzz');
  await initNodeBackend('wasm');
  const seeds = SEEDS.map((s) => ({
    name: s.name,
    kind: s.kind,
    files: s.paths.map((p) => ({
      path: p.split('/').slice(-1)[0]!,
      bytes: new Uint8Array(readFileSync(join(ROOT, p))),
    })),
  }));
  process.send!({ kind: 'ready', rss: process.memoryUsage().rss } satisfies ChildMessage);
  for (let i = from; i < n; i++) {
    const s = seeds[i % seeds.length]!;
    const { files, mutation } = mutateModel(s, caseSeed(seed, i));
    const o = await runFuzzCase(files);
    const record: CaseRecord = {
      index: i,
      seed: s.name,
      mutation,
      result: o.result,
      stage: o.stage,
      leaked: o.leaked,
      ms: o.ms,
      rss: process.memoryUsage().rss,
      tfBytes: tf.memory().numBytes,
      ...(o.code === undefined ? {} : { code: o.code }),
      ...(o.message === undefined ? {} : { message: o.message.slice(0, 300) }),
    };
    await new Promise<void>((resolve) =>
      process.send!({ kind: 'case', record } satisfies ChildMessage, () => resolve()),
    );
  }
  process.disconnect();
}

if (process.argv[2] === '--child') {
  void child(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])).catch(
    (e: unknown) => {
      console.error(e);
      process.exit(3);
    },
  );
}
