/**
 * What `prunelab prune` needs to choose filters by any criterion (per layer or globally, to a
 * parameter, FLOP or channel budget), and the `prunelab sensitivity` command. main.ts parses the
 * common flags and calls in here; flags are checked before any model is read, so usage errors
 * exit 2 at once.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { OpenedModel } from '../core/load';
import { makeCostModel } from '../core/metrics/costs';
import {
  CRITERIA,
  NORMALIZATIONS,
  isDataBased,
  normalizeScores,
  scoreGroupsWithData,
  scoreGroups,
  type Criterion,
  type Normalization,
} from '../core/scoring';
import { planLowestFraction, type PlanOptions } from '../core/plan/auto';
import { planGlobal, type GlobalTarget } from '../core/plan/global';
import type { PruningPlan } from '../core/plan/plan';
import { parseSampleSet, SampleSetError, type SampleSet } from '../core/evaluate/sample-set';
import { checkSamplesFit, samplesModelOf } from '../core/evaluate/samples-fit';
import { ModelLoadError } from '../core/io/errors';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import {
  DEFAULT_RATIOS,
  DEFAULT_TARGETS,
  analyzeSensitivity,
  globalSweep,
  sweepToCsv,
  toCsv,
} from '../core/sensitivity';
import { openModelAt } from './inputs';
import { checkOutput, writeOutputFiles } from '../node/write-output';

/** A mistake on the command line: exit code 2. */
export class UsageError extends Error {}

/** How Taylor sums over samples in the CLI (and the workbench): per sample first (see DataScoreOptions). */
const TAYLOR_MODE = 'sum-of-abs' as const;

/** The `prune` flags this module reads, for main.ts' `parseArgs` (`criterion` and `ratio` are main's). */
export const PLAN_FLAG_OPTIONS = {
  normalize: { type: 'string' },
  global: { type: 'boolean' },
  'target-params': { type: 'string' },
  'target-flops': { type: 'string' },
  'round-to': { type: 'string' },
  'max-ratio': { type: 'string' },
  ignore: { type: 'string' },
  samples: { type: 'string' },
  'max-samples': { type: 'string' },
} as const;

/** The flags as `parseArgs` returns them. */
export interface PlanFlags {
  criterion?: string | undefined;
  ratio?: string | undefined;
  plan?: string | undefined;
  normalize?: string | undefined;
  global?: boolean | undefined;
  'target-params'?: string | undefined;
  'target-flops'?: string | undefined;
  'round-to'?: string | undefined;
  'max-ratio'?: string | undefined;
  ignore?: string | undefined;
  samples?: string | undefined;
  'max-samples'?: string | undefined;
}

/** The choice of filters the flags describe, checked. */
export interface PlanSettings {
  criterion: Criterion;
  /** Per layer: this share of every layer; global without a target: this share of all prunable channels. */
  ratio: number;
  normalize: Normalization;
  /** A global plan's target, or null for the same ratio in every layer. */
  target: GlobalTarget | null;
  options: PlanOptions;
  samples: string | null;
  maxSamples: number | undefined;
}

export const PRUNE_PLAN_HELP = `      Choosing the filters (instead of --plan):
        --criterion <c>       l1 (default), l2, fpgm, bn-scale, random, or, computed on --samples,
                              apoz, mean-activation, taylor
        --ratio <r>           remove the lowest share r of every prunable layer (default 0.5)
        --global              rank all prunable channels together (scores normalised per layer)
                              and remove the lowest --ratio of all of them
        --target-params <f>   global, until a share f (0..1) of the model's parameters is removed
        --target-flops <f>    global, until a share f (0..1) of the model's FLOPs is removed
        --normalize <n>       none, mean (default) or lamp: how scores are made comparable across
                              layers for a global ranking
        --max-ratio <r>       remove at most this share (0..1] of any one layer
        --round-to <n>        keep a multiple of n filters in every pruned layer
        --ignore <a,b>        layers to leave alone (a name ending in / names a nested model)
        --samples <set.plss>  the sample set data-based criteria are computed on
        --max-samples <n>     use only the first n samples for scoring
      The summary (--json) states the parameters and FLOPs reached and whether a target was met.`;

export const SENSITIVITY_HELP = `  prunelab sensitivity <model> --samples <set.plss> --out <prefix> [--criterion l1]
                 [--groups N] [--ratios 0.1,0.2,...,0.9] [--max-samples n] [--batch-size 64]
                 [--sweep] [--normalize mean] [--force] [--json]
      Prunes each prunable layer alone at each ratio (default 10% to 90%) by --criterion and
      measures accuracy on the sample set (agreement with the original without labels); --groups N
      analyses only the N layers with most parameters at stake. Writes <prefix>.csv (one row per
      layer and ratio) and <prefix>.json. --sweep also writes <prefix>-sweep.csv/.json: global
      plans removing 10% to 70% of the FLOPs by --criterion and by random scores, measured the same way.
      Existing output files are refused unless --force; each is written whole or not at all.`;

function fraction(flag: string, v: string, { open = false }: { open?: boolean } = {}): number {
  const x = Number(v);
  const ok = v.trim() !== '' && Number.isFinite(x) && x > 0 && (open ? x < 1 : x <= 1);
  if (!ok) throw new UsageError(`--${flag} must be a number in (0, ${open ? '1)' : '1]'}, got '${v}'.`);
  return x;
}

function positiveInt(flag: string, v: string): number {
  const x = Number(v);
  if (!(Number.isInteger(x) && x >= 1))
    throw new UsageError(`--${flag} must be a whole number >= 1, got '${v}'.`);
  return x;
}

/** Checks a `--criterion` value. */
export function parseCriterion(v: string | undefined): Criterion {
  const c = v ?? 'l1';
  if (!CRITERIA.some((k) => k.id === c)) {
    throw new UsageError(
      `Unknown --criterion '${c}'. Choose one of: ${CRITERIA.map((k) => k.id).join(', ')}.`,
    );
  }
  return c as Criterion;
}

function parseNormalize(v: string | undefined): Normalization {
  const n = v ?? 'mean';
  if (!NORMALIZATIONS.some((k) => k.id === n)) {
    throw new UsageError(
      `Unknown --normalize '${n}'. Choose one of: ${NORMALIZATIONS.map((k) => k.id).join(', ')}.`,
    );
  }
  return n as Normalization;
}

/** Checks every filter-choosing flag of `prune` (before any file is read); throws `UsageError`. */
export function parsePlanFlags(v: PlanFlags): PlanSettings {
  const targetParams = v['target-params'];
  const targetFlops = v['target-flops'];
  if (targetParams !== undefined && targetFlops !== undefined) {
    throw new UsageError('Give one of --target-params and --target-flops, not both.');
  }
  // --criterion and --ratio were ignored next to --plan before these flags existed: still accepted.
  const choosing = [
    ['--global', v.global],
    ['--target-params', targetParams],
    ['--target-flops', targetFlops],
    ['--normalize', v.normalize],
    ['--round-to', v['round-to']],
    ['--max-ratio', v['max-ratio']],
    ['--ignore', v.ignore],
  ].filter(([, x]) => x !== undefined && x !== false);
  if (v.plan !== undefined && choosing.length > 0) {
    throw new UsageError(
      `--plan gives the filters exactly; it cannot be combined with ${choosing.map(([f]) => String(f)).join(', ')}.`,
    );
  }
  if ((targetParams !== undefined || targetFlops !== undefined) && v.ratio !== undefined) {
    throw new UsageError(
      '--ratio is a share of channels; with --target-params or --target-flops leave it out.',
    );
  }
  const ratio = Number(v.ratio ?? '0.5');
  if (!(ratio >= 0 && ratio < 1)) throw new UsageError(`--ratio must be in [0, 1), got '${v.ratio}'.`);
  const criterion = parseCriterion(v.criterion);
  const normalize = parseNormalize(v.normalize);
  if (isDataBased(criterion) && v.samples === undefined && v.plan === undefined) {
    throw new UsageError(
      `--criterion ${criterion} is computed on a sample set: add --samples <set.plss> (a labelled set uses its labels).`,
    );
  }
  let target: GlobalTarget | null = null;
  if (targetParams !== undefined)
    target = { kind: 'params', fraction: fraction('target-params', targetParams, { open: true }) };
  else if (targetFlops !== undefined)
    target = { kind: 'flops', fraction: fraction('target-flops', targetFlops, { open: true }) };
  else if (v.global) target = { kind: 'channels', fraction: ratio };
  const options: PlanOptions = {};
  if (v['max-ratio'] !== undefined) options.maxRatio = fraction('max-ratio', v['max-ratio']);
  if (v['round-to'] !== undefined) options.roundTo = positiveInt('round-to', v['round-to']);
  if (v.ignore !== undefined) {
    const names = v.ignore
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (names.length === 0) throw new UsageError('--ignore needs layer names, separated by commas.');
    options.ignore = names;
  }
  const maxSamples =
    v['max-samples'] === undefined ? undefined : positiveInt('max-samples', v['max-samples']);
  return { criterion, ratio, normalize, target, options, samples: v.samples ?? null, maxSamples };
}

/** A `.plss` set read from disk; its format errors are BAD_SAMPLES naming the file. */
export function parsePlssFile(bytes: Uint8Array, path: string): SampleSet {
  try {
    return parseSampleSet(bytes, path);
  } catch (e) {
    if (e instanceof SampleSetError) throw new ModelLoadError('BAD_SAMPLES', e.message, { file: path });
    throw e;
  }
}

/** A `.plss` set for model `m`, refused (BAD_SAMPLES naming the file) when empty or not made for it. */
async function readSampleSet(path: string, m: OpenedModel): Promise<SampleSet> {
  const bytes = await readFile(path).catch(() => {
    throw new ModelLoadError('BAD_SAMPLES', `Sample set '${path}' does not exist or cannot be read.`, {
      file: path,
    });
  });
  const set = parsePlssFile(new Uint8Array(bytes), path);
  checkSamplesFit(
    { count: set.count, shape: [set.height, set.width, set.channels], labels: set.labels },
    samplesModelOf(m.ir),
    path,
  );
  return set;
}

/** Raw scores of any criterion; data-based ones run the model on the sample set. */
async function scoresFor(
  m: OpenedModel,
  criterion: Criterion,
  samples: string | null,
  maxSamples: number | undefined,
): Promise<Record<string, Float32Array>> {
  if (!isDataBased(criterion)) return scoreGroups(m.ir, m.artifacts, m.graph, criterion);
  if (samples === null) throw new UsageError(`--criterion ${criterion} needs --samples <set.plss>.`);
  const set = await readSampleSet(samples, m);
  const model = await loadLayersModelFromArtifacts(m.artifacts);
  try {
    return await scoreGroupsWithData(model, m.ir, m.artifacts, m.graph, criterion, set, {
      taylor: TAYLOR_MODE,
      ...(maxSamples !== undefined ? { maxSamples } : {}),
    });
  } finally {
    model.dispose();
  }
}

/** What `prune --json` adds about how the filters were chosen, and what the plan reaches. */
export interface PlanReport {
  criterion: Criterion;
  mode: 'per-layer' | 'global';
  normalize?: Normalization;
  target?: GlobalTarget;
  /** Shares of the original's parameters, FLOPs and prunable channels removed, 0..1. */
  removedShare: { params: number; flops: number; channels: number };
  /** False when max-ratio, round-to, ignored layers or one kept filter per layer stop short of the target. */
  met: boolean;
}

/** The plan the flags describe for model `m`, and the report of what it reaches. */
export async function planFromFlags(
  m: OpenedModel,
  s: PlanSettings,
): Promise<{ plan: PruningPlan; report: PlanReport }> {
  const raw = await scoresFor(m, s.criterion, s.samples, s.maxSamples);
  const costs = makeCostModel(m.ir, m.graph);
  if (s.target) {
    const r = planGlobal(m.graph, normalizeScores(raw, s.normalize), costs, s.target, s.options);
    r.plan.note = `${r.plan.note ?? 'global'} by ${s.criterion} (${s.normalize})`;
    return {
      plan: r.plan,
      report: {
        criterion: s.criterion,
        mode: 'global',
        normalize: s.normalize,
        target: s.target,
        removedShare: r.removed,
        met: r.met,
      },
    };
  }
  const plan = planLowestFraction(m.graph, raw, s.ratio, s.options);
  plan.note = `${plan.note ?? `lowest ${s.ratio}`} by ${s.criterion}`;
  const before = costs.evaluate({ version: 1, remove: {} });
  const after = costs.evaluate(plan);
  const eligible = m.graph.groups.filter(
    (g) => g.prunable && !(s.options.ignore && s.options.ignore.includes(g.producer)),
  );
  const channels = eligible.reduce((n, g) => n + g.size, 0);
  const removed = Object.values(plan.remove).reduce((n, v) => n + v.length, 0);
  const share = (a: number, b: number) => (b > 0 ? (b - a) / b : 0);
  return {
    plan,
    report: {
      criterion: s.criterion,
      mode: 'per-layer',
      removedShare: {
        params: share(after.params, before.params),
        flops: share(after.flops, before.flops),
        channels: channels > 0 ? removed / channels : 0,
      },
      met: true,
    },
  };
}

/** One line for the text summary of `prune`. */
export function reportLine(r: PlanReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const what = r.target
    ? `Global ${r.target.kind === 'flops' ? 'FLOPs' : r.target.kind} target ${pct(r.target.fraction)} by ${r.criterion} (${r.normalize ?? 'mean'})${r.met ? '' : ' NOT MET (limits)'}`
    : `Per layer by ${r.criterion}`;
  return `${what}: removed ${pct(r.removedShare.params)} of the parameters, ${pct(r.removedShare.flops)} of the FLOPs.`;
}

function parseRatios(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const ratios = parts.map((p) => Number(p));
  if (parts.length === 0 || parts.some((p) => p === '') || ratios.some((r) => !(r > 0 && r < 1))) {
    throw new UsageError(`--ratios must be numbers in (0, 1) separated by commas, got '${v}'.`);
  }
  return [...new Set(ratios)].sort((a, b) => a - b);
}

function progressLine(what: string): ((done: number, total: number, eta: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, eta) =>
    process.stderr.write(
      `\r${what}: ${done}/${total}, about ${Math.round(eta)} s left   ${done === total ? '\n' : ''}`,
    );
}

/** `prunelab sensitivity`: per-layer curves (and optionally a global sweep) as CSV and JSON. */
export async function sensitivity(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      samples: { type: 'string' },
      out: { type: 'string' },
      criterion: { type: 'string' },
      groups: { type: 'string' },
      ratios: { type: 'string' },
      'max-samples': { type: 'string' },
      'batch-size': { type: 'string' },
      normalize: { type: 'string' },
      sweep: { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (!values.samples) throw new UsageError('sensitivity needs --samples <set.plss>.');
  if (!values.out)
    throw new UsageError('sensitivity needs --out <prefix> (writes <prefix>.csv and <prefix>.json).');
  const criterion = parseCriterion(values.criterion);
  const normalize = parseNormalize(values.normalize);
  const ratios = values.ratios === undefined ? [...DEFAULT_RATIOS] : parseRatios(values.ratios);
  const groups = values.groups === undefined ? undefined : positiveInt('groups', values.groups);
  const maxSamples =
    values['max-samples'] === undefined ? undefined : positiveInt('max-samples', values['max-samples']);
  const batchSize =
    values['batch-size'] === undefined ? undefined : positiveInt('batch-size', values['batch-size']);
  const path = positionals[0];
  if (!path) throw new UsageError('Missing the model argument (a model.json, a folder or a zip).');
  const prefix = values.out;
  const force = values.force === true;
  const outputs = [`${prefix}.csv`, `${prefix}.json`];
  if (values.sweep) outputs.push(`${prefix}-sweep.csv`, `${prefix}-sweep.json`);
  // Refused before the analysis, which takes long; written only when everything is measured.
  for (const o of outputs) await checkOutput(o, 'file', force);
  const m = await openModelAt(path, 'sensitivity');
  const set = await readSampleSet(values.samples, m);
  const scores = await scoresFor(m, criterion, values.samples, maxSamples);
  const costModel = makeCostModel(m.ir, m.graph);
  const job = {
    costModel,
    ...(maxSamples !== undefined ? { maxSamples } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
  };
  const t0 = performance.now();
  const result = await analyzeSensitivity(m, scores, set, {
    ...job,
    criterion,
    ratios,
    ...(groups !== undefined ? { groups } : {}),
    ...(progressLine('sensitivity') ? { onProgress: progressLine('sensitivity')! } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const written = [`${prefix}.csv`, `${prefix}.json`];
  const contents: { path: string; bytes: string }[] = [
    { path: written[0]!, bytes: toCsv(result) },
    { path: written[1]!, bytes: `${JSON.stringify(result, null, 2)}\n` },
  ];
  let sweepSeconds: number | undefined;
  if (values.sweep) {
    const t1 = performance.now();
    const sweep = await globalSweep(m, { [criterion]: scores }, set, {
      ...job,
      normalize,
      targets: DEFAULT_TARGETS,
      ...(progressLine('sweep') ? { onProgress: progressLine('sweep')! } : {}),
    });
    sweepSeconds = (performance.now() - t1) / 1000;
    written.push(`${prefix}-sweep.csv`, `${prefix}-sweep.json`);
    contents.push(
      { path: written[2]!, bytes: sweepToCsv(sweep) },
      { path: written[3]!, bytes: `${JSON.stringify(sweep, null, 2)}\n` },
    );
  }
  await writeOutputFiles(contents, { force });
  const summary = {
    criterion,
    samples: result.samples,
    metric: result.metric,
    baseline: result.baseline,
    layers: result.curves.map((c) => c.producer),
    ratios: result.ratios,
    evaluations: 1 + result.curves.reduce((n, c) => n + new Set(c.points.map((p) => p.removed)).size, 0),
    seconds,
    ...(sweepSeconds !== undefined ? { sweepSeconds } : {}),
    files: written,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const lines = [
    `Sensitivity by ${criterion} on ${result.samples} samples (${result.metric}; original ${result.baseline.accuracy === null ? 'n/a' : `${(result.baseline.accuracy * 100).toFixed(2)}%`}), ${seconds.toFixed(1)} s:`,
    `  ${'layer'.padEnd(24)} ${result.ratios.map((r) => `${Math.round(r * 100)}%`.padStart(7)).join('')}`,
    ...result.curves.map(
      (c) =>
        `  ${c.producer.padEnd(24)} ${c.points
          .map((p) =>
            `${((result.metric === 'accuracy' ? (p.accuracy ?? 0) : p.agreement) * 100).toFixed(1)}`.padStart(
              7,
            ),
          )
          .join('')}`,
    ),
    `Wrote ${written.join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
