/**
 * The plan's one identity. Two plans that remove the same channels are the same plan, whatever order
 * their producers or indices were written in: `planKey({remove: {b: [3, 1], a: [2]}})` equals
 * `planKey({remove: {a: [2], b: [1, 3]}})`, which is `"a:2|b:1,3"`. Every result kept for a plan
 * (previews, accuracy views, fine-tuned weights, latency, sensitivity) is filed under this key.
 */
import type { PruningPlan } from './plan';

/**
 * The canonical form: producers sorted, each list sorted ascending and unique, empty lists dropped,
 * `version` 1; the informational `note` and `model` stay as they were.
 * Example: `{remove: {b: [3, 1, 3], a: [], c: [0]}}` becomes `{remove: {b: [1, 3], c: [0]}}`.
 */
export function canonicalPlan(plan: PruningPlan): PruningPlan {
  const remove: Record<string, number[]> = {};
  for (const layer of Object.keys(plan.remove).sort()) {
    const list = plan.remove[layer] ?? [];
    const clean = [...new Set(list)].sort((a, b) => a - b);
    if (clean.length > 0) remove[layer] = clean;
  }
  const out: PruningPlan = { version: 1, remove };
  if (plan.note !== undefined) out.note = plan.note;
  if (plan.model !== undefined) out.model = plan.model;
  return out;
}

/**
 * A string that identifies what a plan removes, invariant to key and index order and to `note`/`model`:
 * `"layer:i,j|layer2:k"`, and `""` for the empty plan. Layer names are JSON-quoted when they hold
 * one of the separators, so no two different plans share a key.
 */
export function planKey(plan: PruningPlan): string {
  const c = canonicalPlan(plan);
  return Object.entries(c.remove)
    .map(([layer, list]) => `${/[:|,"]/.test(layer) ? JSON.stringify(layer) : layer}:${list.join(',')}`)
    .join('|');
}

/** Number of channels a plan removes, counted once per group name. */
export function planSize(plan: PruningPlan): number {
  return Object.values(plan.remove).reduce((n, v) => n + new Set(v).size, 0);
}

/** True when two plans remove the same channels. */
export function samePlan(a: PruningPlan, b: PruningPlan): boolean {
  return planKey(a) === planKey(b);
}
