/**
 * Plan checks against a channel graph. Every problem is a sentence naming the layer and quoting the
 * bad value, so the CLI and the UI can show it as is.
 */
import type { ChannelGraph } from '../graph/types';
import type { PruningPlan } from './plan';

/**
 * Lists what is wrong with a plan for this graph (empty when it can be applied). A group may be
 * named by any of its producers (see plan.ts); naming it twice with different channels is a problem.
 * Example: `validatePlan(graph, {version: 1, remove: {logits: [0]}})` gives
 * `["'logits' cannot be pruned: Dense 'logits' produces the model's output (10 values), so none can be removed."]`.
 */
export function validatePlan(graph: ChannelGraph, plan: PruningPlan): string[] {
  const problems: string[] = [];
  if (typeof plan !== 'object' || plan === null) return ['The plan is not an object.'];
  if (plan.version !== 1) problems.push(`The plan has version ${JSON.stringify(plan.version)}; expected 1.`);
  if (typeof plan.remove !== 'object' || plan.remove === null || Array.isArray(plan.remove)) {
    problems.push('The plan has no "remove" object.');
    return problems;
  }
  // group id -> the first name the plan gave it, and its channels (a coupled group may be named by any producer).
  const named = new Map<number, { layer: string; key: string }>();
  for (const [layer, list] of Object.entries(plan.remove)) {
    const g = graph.groupByProducer[layer];
    const group = g === undefined ? undefined : graph.groups[g];
    if (!group) {
      const cls = graph.layerClasses?.[layer];
      problems.push(
        cls === undefined
          ? `The plan names layer '${layer}', which is not in the model.`
          : `'${layer}' is a ${cls}, which owns no channels to remove (only Conv/Dense-like layers do).`,
      );
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`The channels to remove from '${layer}' are ${JSON.stringify(list)}, not a list.`);
      continue;
    }
    if (list.length === 0) continue;
    if (!group.prunable) {
      problems.push(`'${layer}' cannot be pruned: ${group.reason ?? 'its group is not prunable.'}`);
      continue;
    }
    const bad = list.filter((i) => !Number.isInteger(i) || i < 0 || i >= group.size);
    if (bad.length > 0) {
      problems.push(
        `'${layer}' has ${group.size} channels (0..${group.size - 1}), but the plan removes ${bad.map((b) => JSON.stringify(b)).join(', ')}.`,
      );
    }
    const seen = new Set<number>();
    const dups = new Set<number>();
    for (const i of list) (seen.has(i) ? dups : seen).add(i);
    if (dups.size > 0)
      problems.push(`The plan removes channel(s) ${[...dups].join(', ')} of '${layer}' twice.`);
    if (bad.length === 0 && seen.size >= group.size) {
      problems.push(`The plan removes all ${group.size} channels of '${layer}'; keep at least one.`);
    }
    const key = [...seen].sort((a, b) => a - b).join(',');
    const earlier = named.get(group.id);
    if (!earlier) named.set(group.id, { layer, key });
    else if (earlier.key !== key) {
      problems.push(
        `The plan removes channels [${earlier.key.replace(/,/g, ', ')}] by '${earlier.layer}' but [${key.replace(/,/g, ', ')}] by '${layer}', which are producers of one group of coupled channels (removed together); name the group once, by '${group.producer}'.`,
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
    const g = graph.groupByProducer[layer];
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
