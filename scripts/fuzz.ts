/**
 * `npm run fuzz -- --n 10000 --seed 7`: a long seeded fuzz run (see scripts/fuzz-runner.ts) and its
 * table: cases, accepted, typed errors by code, untyped errors (with a sample), hangs, crashes,
 * leaked tensors, the slowest case and the most memory the child process held.
 */
import { runFuzz, SEEDS, type CaseRecord } from './fuzz-runner';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v)) throw new Error(`--${name} wants a number, got '${process.argv[i + 1]}'.`);
  return v;
}

const n = arg('n', 1000);
const seed = arg('seed', 1);
const timeoutMs = arg('timeout', 10_000);
const t0 = Date.now();
let done = 0;
const report = await runFuzz({
  n,
  seed,
  timeoutMs,
  onCase: (c: CaseRecord) => {
    done++;
    if (c.result === 'untyped' || c.result === 'hang' || c.result === 'crash' || c.leaked !== 0)
      console.log(
        `case ${c.index} (${c.seed}): ${c.result}${c.leaked ? `, ${c.leaked} tensors leaked` : ''}: ${c.mutation} -> ${c.message ?? ''}`,
      );
    if (done % 1000 === 0) console.error(`${done}/${n} cases, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  },
});

const cases = report.cases;
const count = (f: (c: CaseRecord) => boolean) => cases.filter(f).length;
const byCode = new Map<string, number>();
for (const c of cases) if (c.result === 'typed') byCode.set(c.code!, (byCode.get(c.code!) ?? 0) + 1);
const untyped = cases.filter((c) => c.result === 'untyped');
const slowest = cases.reduce<CaseRecord | undefined>(
  (m, c) => (m === undefined || c.ms > m.ms ? c : m),
  undefined,
);
const maxRss = Math.max(report.baseline.rss, ...cases.map((c) => c.rss));
const rows: [string, string][] = [
  ['seed', String(seed)],
  ['models', SEEDS.map((s) => s.paths.map((p) => p.split('/').pop()).join('+')).join(', ')],
  ['cases', String(cases.length)],
  ['accepted (load, prune, build, predict)', String(count((c) => c.result === 'accepted'))],
  ['typed errors', String(count((c) => c.result === 'typed'))],
  ...[...byCode].sort((a, b) => b[1] - a[1]).map(([code, k]): [string, string] => [`  ${code}`, String(k)]),
  ['untyped errors', String(untyped.length)],
  ['hangs (over ' + timeoutMs / 1000 + ' s)', String(count((c) => c.result === 'hang'))],
  ['crashes (process died)', String(count((c) => c.result === 'crash'))],
  ['cases that leaked tensors', String(count((c) => c.leaked !== 0))],
  [
    'max time per case',
    `${slowest ? slowest.ms.toFixed(0) : 0} ms (${slowest?.seed ?? ''}: ${slowest?.mutation ?? ''})`,
  ],
  [
    'max memory (child RSS)',
    `${(maxRss / 2 ** 20).toFixed(0)} MB (at start ${(report.baseline.rss / 2 ** 20).toFixed(0)} MB)`,
  ],
  ['wall time', `${((Date.now() - t0) / 1000).toFixed(0)} s`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
if (untyped.length > 0)
  console.log(`\nuntyped sample: ${untyped[0]!.mutation} -> ${untyped[0]!.message ?? ''}`);
process.exitCode =
  untyped.length + count((c) => c.result === 'hang' || c.result === 'crash' || c.leaked !== 0) > 0 ? 1 : 0;
