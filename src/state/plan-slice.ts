/**
 * The plan's one owner in the page (STYLE.md #12). `commitPlan(next, label)` is the only way the plan
 * changes: it records a named step in the history (core/plan/history.ts), so every change can be
 * undone, redone or jumped back to. Results (previews, accuracy views, recovered weights, fine-tuning
 * curves) are filed by plan key in `results`, so moving in history brings back what was measured for
 * the plan on screen, and the download always holds the weights of that plan.
 *
 * Former writers of `plan` and where they now go: actions.ts toggleFilter ("tick conv2 #5"),
 * selectLowestFraction ("lowest 50% in all layers"), clearSelection ("clear all") and openFiles (a new
 * history); analysis-actions.ts applyAutoPlan ("global plan to -50% FLOPs") and applySuggestedRatios
 * ("suggested ratios within 1 point"); export-actions.ts openPlanFile ("open plan file x.json");
 * plan-history.ts reopenPlan (now plans-compared.ts, "reopen plan #3"); persist.ts restores a saved history whole.
 */
import {
  canRedo,
  canUndo,
  commitStep,
  currentStep,
  jumpToStep,
  redoStep,
  startHistory,
  undoStep,
  type PlanHistory,
} from '../core/plan/history';
import { canonicalPlan, planKey } from '../core/plan/key';
import type { PruningPlan } from '../core/plan/plan';
import { useWorkbench, type PlanResults, type WorkbenchState } from './store';

const set = useWorkbench.setState;
const get = useWorkbench.getState;

function show(history: PlanHistory, extra: Partial<WorkbenchState> = {}): void {
  const step = currentStep(history);
  set({ history, plan: step.plan, planKey: step.key, ...extra });
}

/** A fresh history for a newly opened model: one step, the empty plan. */
export function resetPlanHistory(
  label: string,
): Pick<WorkbenchState, 'plan' | 'planKey' | 'history' | 'results' | 'planLock'> {
  const history = startHistory({ version: 1, remove: {} }, label);
  const step = currentStep(history);
  return { history, plan: step.plan, planKey: step.key, results: {}, planLock: null };
}

/**
 * Makes `next` the plan on screen as a named step ("tick conv2 #5"). Refused, with the reason in the
 * notice, while the plan is locked (fine-tuning runs). Returns whether the plan changed.
 */
export function commitPlan(next: PruningPlan, label: string, extra: Partial<WorkbenchState> = {}): boolean {
  const s = get();
  if (s.planLock) {
    set({ notice: s.planLock });
    return false;
  }
  const history = commitStep(s.history, next, label);
  if (history === s.history) {
    if (Object.keys(extra).length) set(extra);
    return false;
  }
  show(history, { notice: null, ...extra });
  return true;
}

function move(to: (h: PlanHistory) => PlanHistory): boolean {
  const s = get();
  if (s.planLock) {
    set({ notice: s.planLock });
    return false;
  }
  const history = to(s.history);
  if (history === s.history) return false;
  show(history, { notice: null, anchor: null });
  return true;
}

/** Goes back one step (Ctrl+Z). */
export function undoPlan(): boolean {
  return move(undoStep);
}

/** Goes forward one step (Ctrl+Shift+Z, Ctrl+Y). */
export function redoPlan(): boolean {
  return move(redoStep);
}

/** Goes to step `index` of the history (a click in the History list). */
export function jumpToPlanStep(index: number): boolean {
  return move((h) => jumpToStep(h, index));
}

/** Replaces the whole history (a restored session). */
export function restorePlanHistory(history: PlanHistory): void {
  show(history);
}

/** Labels of the steps undo and redo would go to, for their tooltips. */
export function undoRedoLabels(s: WorkbenchState): { undo: string | null; redo: string | null } {
  const h = s.history;
  return {
    undo: canUndo(h) ? (h.steps[h.index]?.label ?? null) : null,
    redo: canRedo(h) ? (h.steps[h.index + 1]?.label ?? null) : null,
  };
}

/** Locks the plan (ticks refused with `reason`), or unlocks it with null. */
export function setPlanLock(reason: string | null): void {
  set({ planLock: reason });
}

/** The results of the plan on screen (empty when nothing was measured for it). */
export function currentResults(s: WorkbenchState): PlanResults | undefined {
  return s.results[s.planKey];
}

/** Records results for the plan with key `key` (which may no longer be on screen). */
export function patchResults(
  key: string,
  plan: PruningPlan,
  patch: (r: PlanResults) => Partial<PlanResults>,
): void {
  set((s) => {
    const base: PlanResults = s.results[key] ?? { plan: canonicalPlan(plan), at: Date.now() };
    return { results: { ...s.results, [key]: { ...base, ...patch(base), at: Date.now() } } };
  });
}

/** Drops the figures measured on a sample set (a new one was opened); recovered weights stay. */
export function dropMeasuredFigures(): void {
  set((s) => {
    const results: Record<string, PlanResults> = {};
    for (const [k, r] of Object.entries(s.results)) {
      const { preview: _p, compare: _c, ...rest } = r;
      results[k] = rest;
    }
    return { results };
  });
}

/** The plan on screen and its key, read together (jobs record the key they ran for). */
export function planNow(): { plan: PruningPlan; key: string } {
  const s = get();
  return { plan: s.plan, key: s.planKey };
}

export { planKey };
