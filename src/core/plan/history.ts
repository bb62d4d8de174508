/**
 * The plan's history as plain data, in the manner of an editor's undo stack (excalidraw's
 * `History`, Photoshop's History panel): a list of named steps and the position of the one on
 * screen. Undo and redo move the position; jumping to any step moves it there. The steps after the
 * position stay listed (and reachable by redo or a click) until the next commit, which drops them
 * and appends the new step, as editors do.
 *
 * Example: open (step 0, empty) -> "tick conv2 #5" -> "lowest 50% in all layers"; undo twice puts
 * the position on step 0 with two steps to redo; a new "tick conv1 #1" then replaces both.
 */
import { canonicalPlan, planKey } from './key';
import type { PruningPlan } from './plan';

/** One named step: the whole plan after it (plans are small; no diffs needed). */
export interface PlanStep {
  /** What a person reads: "tick conv2 #5", "lowest 50% in all layers", "open plan file x.json". */
  label: string;
  plan: PruningPlan;
  /** `planKey(plan)`. */
  key: string;
  /** When it was made (ms since the epoch). */
  at: number;
}

export interface PlanHistory {
  steps: PlanStep[];
  /** Index of the step on screen, 0 <= index < steps.length. */
  index: number;
}

/** Steps kept at most; the oldest go first (the first one is replaced by the oldest one kept). */
export const MAX_HISTORY_STEPS = 500;

function step(plan: PruningPlan, label: string, at: number): PlanStep {
  const c = canonicalPlan(plan);
  return { label, plan: c, key: planKey(c), at };
}

/** A history with one step, e.g. `startHistory(emptyPlan(), 'open mnist-cnn')`. */
export function startHistory(plan: PruningPlan, label: string, at = Date.now()): PlanHistory {
  return { steps: [step(plan, label, at)], index: 0 };
}

/** The step on screen. */
export function currentStep(h: PlanHistory): PlanStep {
  const s = h.steps[h.index];
  if (!s) throw new Error(`History position ${h.index} is outside its ${h.steps.length} steps.`);
  return s;
}

/**
 * Appends `plan` as a named step after the current one, dropping any steps after it. A plan equal to
 * the current one (same key) is no step: the history is returned unchanged.
 */
export function commitStep(h: PlanHistory, plan: PruningPlan, label: string, at = Date.now()): PlanHistory {
  const next = step(plan, label, at);
  if (next.key === currentStep(h).key) return h;
  let steps = [...h.steps.slice(0, h.index + 1), next];
  if (steps.length > MAX_HISTORY_STEPS) steps = steps.slice(steps.length - MAX_HISTORY_STEPS);
  return { steps, index: steps.length - 1 };
}

/** True when there is a step before the current one. */
export function canUndo(h: PlanHistory): boolean {
  return h.index > 0;
}

/** True when there is a step after the current one. */
export function canRedo(h: PlanHistory): boolean {
  return h.index < h.steps.length - 1;
}

/** One step back (unchanged at the first step). */
export function undoStep(h: PlanHistory): PlanHistory {
  return canUndo(h) ? { ...h, index: h.index - 1 } : h;
}

/** One step forward (unchanged at the last step). */
export function redoStep(h: PlanHistory): PlanHistory {
  return canRedo(h) ? { ...h, index: h.index + 1 } : h;
}

/** Moves to step `index` (clamped to the steps there are). */
export function jumpToStep(h: PlanHistory, index: number): PlanHistory {
  const i = Math.max(0, Math.min(h.steps.length - 1, Math.trunc(index)));
  return i === h.index ? h : { ...h, index: i };
}

/** Checks a history read back from storage; returns it, or null when it is not one. */
export function asPlanHistory(value: unknown): PlanHistory | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as { steps?: unknown; index?: unknown };
  if (!Array.isArray(v.steps) || v.steps.length === 0 || typeof v.index !== 'number') return null;
  if (!Number.isInteger(v.index) || v.index < 0 || v.index >= v.steps.length) return null;
  const steps: PlanStep[] = [];
  for (const s of v.steps as unknown[]) {
    if (typeof s !== 'object' || s === null) return null;
    const { label, plan, at } = s as { label?: unknown; plan?: unknown; at?: unknown };
    if (typeof label !== 'string' || typeof plan !== 'object' || plan === null) return null;
    const remove = (plan as { remove?: unknown }).remove;
    if (typeof remove !== 'object' || remove === null || Array.isArray(remove)) return null;
    for (const list of Object.values(remove)) {
      if (!Array.isArray(list) || !list.every((i) => Number.isInteger(i) && i >= 0)) return null;
    }
    steps.push(step({ version: 1, remove: remove as Record<string, number[]> }, label, Number(at) || 0));
  }
  return { steps, index: v.index };
}
