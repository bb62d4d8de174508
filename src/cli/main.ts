import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { OpenedModel } from '../core/load';
import { makeCostModel } from '../core/metrics/costs';
import type { PruningPlan } from '../core/plan/plan';
import { parsePlanFile, PLAN_FILE_LIMITS } from '../core/plan/plan-file';
import type { ChannelGraph } from '../core/graph/types';
import { isModelLoadError, ModelLoadError } from '../core/io/errors';
import { applyPlan } from '../core/surgery/apply-plan';
import { defaultQuantization, sourceStorageOf } from '../core/io/source-storage';
import { modelFingerprint } from '../core/io/fingerprint';
import { loadLayersModelFromArtifacts } from '../core/io/tf-artifacts';
import { evaluateModels } from '../core/evaluate/evaluate';
import { nonFiniteWeights } from '../core/io/weight-health';
import { namingInput, openModelAt, type OpenedInput } from './inputs';
import { bytesLine, parseFormat, parseQuantize, writeModelOutput } from './output';
import { checkOutput, OutputExistsError } from '../node/write-output';
import { initNodeBackend } from '../node/tf-node';
import { FINETUNE_HELP, finetune, readSamples, warnSamples } from './recover-commands';
import { measureLatencyAfter, measureSpeed } from './latency-flags';
import {
  PLAN_COMMAND_OPTIONS,
  PLAN_HELP,
  PRUNE_PLAN_HELP,
  filterScores,
  parseCriterion,
  planCommand,
  scoresText,
  SENSITIVITY_HELP,
  UsageError,
  parsePlanFlags,
  planFromFlags,
  reportLine,
  sensitivity,
  type PlanReport,
} from './analysis-commands';

const HELP = `prunelab: structured filter pruning for TF.js LayersModels, headless.

Usage:
  prunelab inspect <model.json|folder|zip> [--json] [--scores [--criterion l1] [--samples set]]
      Lists layers (class, output shape, params, FLOPs), prunable groups (with why a group is not
      prunable) and totals; warns on stderr, naming the layers, when weights hold NaN or Inf or
      tfjs cannot build a layer (every command does). --json prints one JSON object, with
      nonFinite: [{layer, weight, nan, inf}] and warnings: [...] (both empty when healthy).
      --scores adds every prunable layer's per-filter scores by --criterion (default l1; data-based
      criteria need --samples): a table, or in --json scores: {criterion, groups: [{producer,
      producers, size, scores: [...]}]}, filter i's score at index i.

  prunelab prune <model> --out <dir|file> [--criterion <c>] [--ratio 0.5] [--plan plan.json]
                 [--format tfjs|keras|h5|onnx] [--quantize none|float16|uint8|uint16] [--force] [--json]
      Removes the lowest --ratio of the filters of every prunable layer by --criterion (rounded
      down, never all of a layer), or exactly the channels a plan file lists, and writes the pruned
      model (model.json + weight files) to --out, with the provenance record in
      userDefinedMetadata.prunelab. --format keras writes one Keras 3 .keras file and
      --format h5 one Keras 2 .h5 file at --out (provenance in their metadata); --format onnx
      (a model opened from a .onnx) writes the user's own ONNX file with its initializers sliced
      at --out and <name>.prunelab.json beside it (kept indices per initializer); --quantize
      stores TF.js weights as float16/uint8/uint16; by default each weight keeps the storage it
      was opened with (a uint8-quantized model.json comes back uint8, float32 stays float32).
      The summary compares the bytes written with the bytes of the files opened.
      Exact surgery: prune model.json --keep conv1=20 --out pruned  (conv1 keeps its 20 best
      filters by --criterion, every other layer stays as it is). A plan file saved by the workbench carries
      the model's fingerprint and is refused for another model. --json prints a summary object.
      The output is written to a temporary sibling and renamed into place, so a failure leaves
      what was there before; an existing non-empty --out folder (or an existing file for keras/h5)
      is refused unless --force, which replaces it whole.
${PRUNE_PLAN_HELP}

  <model> is a model.json (with its weight files), a folder, a zip, a Keras .h5 or a .keras file,
  or an ONNX .onnx file (PyTorch's torch.onnx.export; its external .data files are read beside it).

  prunelab evaluate <model> --samples <set.plss|image folder|zip> [--batch-size 64] [--json]
      Top-1 accuracy on a sample set in PruneLab's .plss format, or on an image folder or zip (one
      subfolder per class, or a labels CSV; preprocessing guessed from the model's input shape).
      --json prints {"accuracy": 0..1, "samples": n, ...}.

${PLAN_HELP}

${FINETUNE_HELP}

${SENSITIVITY_HELP}

Options:
  --backend wasm|cpu   TensorFlow.js backend (default wasm)
  -h, --help           this text

Errors go to stderr as 'prunelab <command>: error [CODE]: message' (CODE names the kind of problem,
e.g. BAD_PLAN, MISSING_SHARD, PATH_ESCAPE) with exit code 1 (2 for bad usage).`;

function print(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
}

async function open(path: string | undefined, command: string): Promise<OpenedInput> {
  if (!path) throw new UsageError('Missing the model argument (a model.json, a folder or a zip).');
  return openModelAt(path, command);
}

function summarise(m: OpenedModel) {
  const totals = makeCostModel(m.ir, m.graph).evaluate({ version: 1, remove: {} });
  const byName = new Map(totals.layers.map((l) => [l.name, l]));
  return {
    name: m.ir.name,
    kind: m.ir.kind,
    layers: m.ir.layers.map((l) => ({
      index: l.index,
      name: l.name,
      className: l.className,
      outputShape: l.outputShape,
      params: byName.get(l.name)?.params ?? 0,
      flops: byName.get(l.name)?.flops ?? 0,
    })),
    groups: m.graph.groups.map((g) => ({
      id: g.id,
      producer: g.producer,
      producers: g.producers,
      size: g.size,
      members: g.members.map((x) => ({ layer: x.layer, role: x.role })),
      prunable: g.prunable,
      ...(g.reason ? { reason: g.reason } : {}),
    })),
    totals: { params: totals.params, flops: totals.flops, bytes: totals.bytes },
  };
}

async function inspect(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean' },
      scores: { type: 'boolean' },
      criterion: { type: 'string' },
      samples: { type: 'string' },
      'max-samples': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (!values.scores && (values.criterion ?? values.samples ?? values['max-samples']) !== undefined) {
    throw new UsageError('--criterion, --samples and --max-samples go with --scores.');
  }
  if (values.scores) parseCriterion(values.criterion); // a usage error before the model is read
  const m = await open(positionals[0], 'inspect');
  const s = summarise(m);
  const scores = values.scores ? await filterScores(m, values) : undefined;
  if (values.json) {
    return print({
      ...s,
      nonFinite: nonFiniteWeights(m.artifacts),
      warnings: m.warnings,
      ...(scores ? { scores } : {}),
    });
  }
  const lines = [`${s.name} (${s.kind}), ${s.layers.length} layers`, ''];
  lines.push('  #  layer                    class                   output shape        params        FLOPs');
  for (const l of s.layers) {
    lines.push(
      `${String(l.index).padStart(3)}  ${l.name.padEnd(24)} ${l.className.padEnd(23)} ${l.outputShape
        .map((d) => d ?? '?')
        .join('x')
        .padEnd(18)} ${String(l.params).padStart(8)} ${String(l.flops).padStart(12)}`,
    );
  }
  lines.push('', 'Groups:');
  for (const g of s.groups) {
    lines.push(
      `  [${g.id}] ${g.producers.join(' + ')} (${g.size}): ${[...new Set(g.members.map((m) => m.layer))].join(', ')}${g.prunable ? '' : `  NOT PRUNABLE: ${g.reason ?? ''}`}`,
    );
  }
  lines.push(
    '',
    `Totals: ${s.totals.params} params, ${s.totals.flops} FLOPs, ${s.totals.bytes} bytes of weights`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  if (scores) process.stdout.write(`\n${scoresText(scores)}`);
}

async function prune(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...PLAN_COMMAND_OPTIONS,
      plan: { type: 'string' },
      format: { type: 'string' },
      quantize: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (!values.out) throw new UsageError('prune needs --out <dir>.');
  const settings = parsePlanFlags(values);
  const format = parseFormat(values.format);
  const quantize = parseQuantize(values.quantize, format);
  const m = await open(positionals[0], 'prune');
  const force = values.force === true;
  let plan: PruningPlan;
  let report: PlanReport | null = null;
  if (values.plan) {
    plan = await readPlanFile(values.plan, m.graph, modelFingerprint(m.ir), m.ir.name);
    await checkOutput(values.out, format === 'tfjs' ? 'folder' : 'file', force);
  } else {
    // Refused before any scoring, which can take long on a sample set.
    await checkOutput(values.out, format === 'tfjs' ? 'folder' : 'file', force);
    // Any criterion, per layer or global to a budget (analysis-commands.ts).
    ({ plan, report } = await planFromFlags(m, settings));
  }
  const cost = makeCostModel(m.ir, m.graph);
  const before = cost.evaluate({ version: 1, remove: {} });
  const after = cost.evaluate(plan);
  const { artifacts } = applyPlan(m.artifacts, plan, m.ir, m.graph);
  const files = await writeModelOutput(values.out, artifacts, format, quantize, m.artifacts, force, m.files);
  // A latency target: measure what the prediction promised (latency-flags.ts).
  if (report?.latency)
    report = { ...report, latency: await measureLatencyAfter(m.artifacts, artifacts, report.latency) };
  // A plan ranked for speed here: measure the speed-up it was predicted to give.
  if (report?.speed)
    report = { ...report, speed: { ...report.speed, ...(await measureSpeed(m.artifacts, artifacts)) } };
  const written = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  const summary = {
    out: values.out,
    format,
    files: files.map((f) => f.path),
    removed: Object.values(plan.remove).reduce((n, v) => n + v.length, 0),
    params: { before: before.params, after: after.params },
    flops: { before: before.flops, after: after.flops },
    bytes: { before: before.bytes, after: after.bytes },
    fileBytes: { opened: m.inputBytes, written },
    ...(format === 'tfjs'
      ? { quantize: quantize ?? `as opened (${defaultQuantization(sourceStorageOf(m.artifacts))})` }
      : {}),
    ...report,
  };
  if (values.json) return print(summary);
  process.stdout.write(
    `Removed ${summary.removed} filters. Params ${before.params} -> ${after.params}, FLOPs ${before.flops} -> ${after.flops}.\n${report ? `${reportLine(report)}\n` : ''}Wrote ${format === 'tfjs' ? files.map((f) => join(values.out!, f.path)).join(', ') : values.out}: ${bytesLine(written, m.inputBytes)}\n`,
  );
}

/**
 * Reads `--plan` through the one plan-file parser (core/plan/plan-file.ts): every failure, unreadable
 * file included, is BAD_PLAN naming the file.
 */
async function readPlanFile(
  path: string,
  graph: ChannelGraph,
  fingerprint: string,
  modelName: string,
): Promise<PruningPlan> {
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > PLAN_FILE_LIMITS.maxBytes) {
      throw new ModelLoadError(
        'BAD_PLAN',
        `Plan file '${path}' is ${size.toLocaleString('en-US')} bytes, over the limit of ${PLAN_FILE_LIMITS.maxBytes.toLocaleString('en-US')} for a plan file.`,
        { file: path },
      );
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isModelLoadError(e)) throw e;
    const why =
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${oneLine(e)})`;
    throw new ModelLoadError('BAD_PLAN', `Plan file '${path}' ${why}.`, { file: path });
  }
  return parsePlanFile(text, path, { graph, fingerprint, modelName });
}

async function evaluate(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { samples: { type: 'string' }, json: { type: 'boolean' }, 'batch-size': { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.samples) throw new UsageError('evaluate needs --samples <set.plss|image folder|zip>.');
  const m = await open(positionals[0], 'evaluate');
  const samples = values.samples;
  const model = await namingInput(positionals[0]!, () => loadLayersModelFromArtifacts(m.artifacts));
  const {
    source: set,
    bad,
    warnings,
  } = await namingInput(samples, () => readSamples(samples, model)).catch((e: unknown) => {
    model.dispose();
    throw e;
  });
  try {
    const t0 = performance.now();
    const r = await evaluateModels([model], set, { batchSize: Number(values['batch-size'] ?? 64) });
    const seconds = (performance.now() - t0) / 1000;
    const out = {
      accuracy: r.accuracy[0] ?? null,
      samples: r.samples,
      seconds,
      imagesPerSecond: r.samples / seconds,
      ...(bad.length > 0 ? { skipped: bad.map((b) => ({ path: b.path, reason: b.reason })) } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
    if (values.json) return print(out);
    warnSamples('evaluate', warnings);
    process.stdout.write(
      `Accuracy ${out.accuracy === null ? 'n/a (no labels)' : `${(out.accuracy * 100).toFixed(2)}%`} on ${out.samples} samples (${out.imagesPerSecond.toFixed(0)} images/s)\n`,
    );
  } finally {
    model.dispose();
  }
}

/** CLI entry: dispatches `inspect`, `prune`, `evaluate`; errors to stderr with a non-zero exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const backendIdx = rest.indexOf('--backend');
  let backend: 'wasm' | 'cpu' = 'wasm';
  if (backendIdx >= 0) {
    const b = rest[backendIdx + 1];
    if (b !== 'wasm' && b !== 'cpu') {
      process.stderr.write(`prunelab: --backend must be wasm or cpu, got '${b ?? ''}'.\n`);
      return 2;
    }
    backend = b;
    rest.splice(backendIdx, 2);
  }
  if (
    !command ||
    command === '-h' ||
    command === '--help' ||
    command === 'help' ||
    rest.includes('--help') ||
    rest.includes('-h')
  ) {
    process.stdout.write(`${HELP}\n`);
    return command ? 0 : 2;
  }
  const commands: Record<string, (a: string[]) => Promise<void>> = {
    inspect,
    prune,
    evaluate,
    sensitivity,
    finetune,
    plan: planCommand,
  };
  const run = commands[command];
  if (!run) {
    process.stderr.write(`prunelab: unknown command '${command}'. Run 'prunelab --help'.\n`);
    return 2;
  }
  // PROD silences tfjs' console advert for tfjs-node, which cannot install here anyway.
  tf.env().set('PROD', true);
  try {
    if (command !== 'inspect' || rest.includes('--scores')) await initNodeBackend(backend);
    await run(rest);
    return 0;
  } catch (e) {
    process.stderr.write(`prunelab ${command}: ${errorText(e)}\n`);
    return e instanceof UsageError ||
      e instanceof OutputExistsError ||
      (e instanceof TypeError && 'code' in e)
      ? 2
      : 1;
  }
}

/** The longest message printed for an error that is not a typed one (tfjs' can run to pages). */
const MAX_UNTYPED_MESSAGE = 500;
/** The longest message printed for a typed error (they are short by design; this is a backstop). */
const MAX_TYPED_MESSAGE = 4000;

/** An error's message on one line, capped: what an unexpected error prints, never its stack. */
function oneLine(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
  return msg.length > MAX_UNTYPED_MESSAGE ? `${msg.slice(0, MAX_UNTYPED_MESSAGE)}…` : msg || String(e);
}

/**
 * What stderr says for an error: `error [CODE]: message` for a typed load error (its message may list
 * problems on indented lines), the plain message for a usage error, one capped line for anything else.
 */
export function errorText(e: unknown): string {
  if (isModelLoadError(e)) {
    const msg =
      e.message.length > MAX_TYPED_MESSAGE ? `${e.message.slice(0, MAX_TYPED_MESSAGE)}…` : e.message;
    return `error [${e.code}]: ${msg}`;
  }
  if (e instanceof UsageError || e instanceof OutputExistsError) return e.message;
  return oneLine(e);
}

const isMain = process.argv[1] !== undefined && /prunelab(\.mjs)?$|cli[\\/]main\.ts$/.test(process.argv[1]);
if (isMain) process.exitCode = await main(process.argv.slice(2));
