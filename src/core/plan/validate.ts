/**
 * Plan checks against a channel graph. Every problem is a sentence naming the layer and quoting the
 * bad value, so the CLI and the UI can show it as is.
 */
import type { ChannelGraph } from '../graph/types';
import type { PruningPlan } from './plan';

/** How many values of one list a message quotes before counting the rest. */
export const MAX_QUOTED_VALUES = 5;
/** How many characters of a name from a file a message quotes. */
export const MAX_QUOTED_NAME = 80;

/** A name from a file, quoted and capped: `'conv1'`, or its first 80 characters and `…'`. */
export function quoteName(name: string): string {
  return name.length > MAX_QUOTED_NAME ? `'${name.slice(0, MAX_QUOTED_NAME)}…'` : `'${name}'`;
}

/**
 * A short description of any JSON value for a message: numbers, booleans and null as JSON, strings
 * quoted and capped, lists and objects by their size (`a list of 1,000,000 items`), never echoed whole.
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') {
    const s = JSON.stringify(v.length > MAX_QUOTED_NAME ? `${v.slice(0, MAX_QUOTED_NAME)}…` : v);
    return `the string ${s}`;
  }
  if (Array.isArray(v))
    return `a list of ${v.length.toLocaleString('en-US')} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** The first few values of a list and how many more: `6, -1, 1.5 … and 999,997 more`. */
function quoteList(values: readonly unknown[]): string {
  const shown = values
    .slice(0, MAX_QUOTED_VALUES)
    .map((v) => (typeof v === 'number' ? String(v) : describeValue(v)));
  const more = values.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` … and ${more.toLocaleString('en-US')} more` : ''}`;
}

/** Own property of a lookup table (a layer called `constructor` must not find Object's). */
function own<T>(table: Record<string, T> | undefined, key: string): T | undefined {
  return table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * Lists what is wrong with a plan for this graph (empty when it can be applied). A group may be
 * named by any of its producers (see plan.ts); naming it twice with different channels is a problem.
 * Example: `validatePlan(graph, {version: 1, remove: {logits: [0]}})` gives
 * `["'logits' cannot be pruned: Dense 'logits' produces the model's output (10 values), so none can be removed."]`.
 */
export function validatePlan(graph: ChannelGraph, plan: PruningPlan): string[] {
  const problems: string[] = [];
  if (typeof plan !== 'object' || plan === null) return ['The plan is not an object.'];
  if (plan.version !== 1)
    problems.push(
      plan.version === undefined
        ? 'The plan has no version; expected 1.'
        : `The plan has version ${describeValue(plan.version)}; expected 1.`,
    );
  if (typeof plan.remove !== 'object' || plan.remove === null || Array.isArray(plan.remove)) {
    problems.push('The plan has no "remove" object.');
    return problems;
  }
  // group id -> the first name the plan gave it, and its channels (a coupled group may be named by any producer).
  const named = new Map<number, { layer: string; key: string; sorted: number[] }>();
  for (const [layer, list] of Object.entries(plan.remove)) {
    const g = own(graph.groupByProducer, layer);
    const group = g === undefined ? undefined : graph.groups[g];
    const name = quoteName(layer);
    if (!group) {
      const cls = own(graph.layerClasses, layer);
      problems.push(
        cls === undefined
          ? `The plan names layer ${name}, which is not in the model.`
          : `${name} is a ${cls}, which owns no channels to remove (only Conv/Dense-like layers do).`,
      );
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`The channels to remove from ${name} are ${describeValue(list)}, not a list.`);
      continue;
    }
    if (list.length === 0) continue;
    if (!group.prunable) {
      problems.push(`${name} cannot be pruned: ${group.reason ?? 'its group is not prunable.'}`);
      continue;
    }
    const bad = list.filter((i) => !Number.isInteger(i) || i < 0 || i >= group.size);
    if (bad.length > 0) {
      problems.push(
        `${name} has ${group.size} channels (0..${group.size - 1}), but the plan removes ${quoteList(bad)}.`,
      );
    }
    const seen = new Set<number>();
    const dups = new Set<number>();
    for (const i of list) (seen.has(i) ? dups : seen).add(i);
    if (dups.size > 0) problems.push(`The plan removes channel(s) ${quoteList([...dups])} of ${name} twice.`);
    if (bad.length === 0 && seen.size >= group.size) {
      problems.push(`The plan removes all ${group.size} channels of ${name}; keep at least one.`);
    }
    const sorted = [...seen].sort((a, b) => a - b);
    const key = sorted.join(',');
    const earlier = named.get(group.id);
    if (!earlier) named.set(group.id, { layer, key, sorted });
    else if (earlier.key !== key) {
      problems.push(
        `The plan removes channels [${quoteList(earlier.sorted)}] by ${quoteName(earlier.layer)} but [${quoteList(sorted)}] by ${name}, which are producers of one group of coupled channels (removed together); name the group once, by '${group.producer}'.`,
      );
    }
  }
  return problems;
}

/**
 * The plan with every group named by its canonical producer (`group.producer`), lists sorted and
 * unique, empty lists dropped; assumes `validatePlan` found no problem.
 * Example: with `conv_a` and `conv_b` coupled by an Add, `{remove: {conv_b: [3, 1]}}` becomes `{remove: {conv_a: [1, 3]}}`.
 */
export function canonicalizePlan(graph: ChannelGraph, plan: PruningPlan): PruningPlan {
  const remove: Record<string, number[]> = {};
  for (const [layer, list] of Object.entries(normalizePlan(plan).remove)) {
    const g = own(graph.groupByProducer, layer);
    const name = (g === undefined ? undefined : graph.groups[g]?.producer) ?? layer;
    remove[name] ??= list;
  }
  const out: PruningPlan = { version: 1, remove };
  if (plan.note !== undefined) out.note = plan.note;
  return out;
}

/**
 * A copy with each list sorted ascending and made unique, and empty lists dropped:
 * `{remove: {a: [5, 1, 5], b: []}}` becomes `{remove: {a: [1, 5]}}`.
 */
export function normalizePlan(plan: PruningPlan): PruningPlan {
  const remove: Record<string, number[]> = {};
  for (const [layer, list] of Object.entries(plan.remove)) {
    const clean = [...new Set(list)].sort((a, b) => a - b);
    if (clean.length > 0) remove[layer] = clean;
  }
  const out: PruningPlan = { version: 1, remove };
  if (plan.note !== undefined) out.note = plan.note;
  return out;
}
