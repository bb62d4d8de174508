/**
 * "Plans compared": every plan something was measured for, read off the results filed by plan key
 * (plan-slice.ts), so each row's accuracy, FLOPs and latency belong to one and the same plan.
 */
import { planSize } from '../core/plan/key';
import type { PruningPlan } from '../core/plan/plan';
import { getModel } from './registry';
import { commitPlan } from './plan-slice';
import { useWorkbench, type PlanResults, type WorkbenchState } from './store';

/** One evaluated plan with its figures. */
export interface PlanRecord {
  key: string;
  plan: PruningPlan;
  label: string;
  params: number;
  flops: number;
  /** Share of the original FLOPs left (0..1). */
  flopsLeft: number;
  /** Pruned accuracy before recovery (accuracy view, else preview), 0..1. */
  accuracy: number | null;
  /** Validation accuracy after fine-tuning, 0..1. */
  recovered: number | null;
  latencyMs: number | null;
}

function describe(plan: PruningPlan): string {
  const layers = Object.values(plan.remove).filter((v) => v.length > 0).length;
  const n = planSize(plan);
  return n === 0 ? 'unpruned' : `${n} filters in ${layers} layer${layers > 1 ? 's' : ''}`;
}

function measured(r: PlanResults): boolean {
  return r.preview !== undefined || r.compare !== undefined || r.fineTune?.finished === true;
}

const cache = new WeakMap<Record<string, PlanResults>, PlanRecord[]>();

/** The plans compared, oldest first (by when they were first measured). */
export function plansCompared(s: WorkbenchState): PlanRecord[] {
  if (!s.session) return [];
  const hit = cache.get(s.results);
  if (hit) return hit;
  const cost = getModel(s.session.id).costModel;
  const before = cost.evaluate({ version: 1, remove: {} });
  const rows = Object.entries(s.results)
    .filter(([, r]) => measured(r))
    .map(([key, r], i): PlanRecord => {
      const after = cost.evaluate(r.plan);
      return {
        key,
        plan: r.plan,
        label: `#${i + 1}: ${describe(r.plan)}`,
        params: after.params,
        flops: after.flops,
        flopsLeft: before.flops > 0 ? after.flops / before.flops : 1,
        accuracy: r.compare?.pruned?.top1 ?? r.preview?.pruned ?? null,
        recovered: r.fineTune?.finished ? r.fineTune.after : null,
        latencyMs: r.compare?.pruned?.latencyMs ?? null,
      };
    });
  cache.set(s.results, rows);
  return rows;
}

/** Reopens a recorded plan as the current ticks (one undoable step). */
export function reopenPlan(key: string): void {
  const r = plansCompared(useWorkbench.getState()).find((p) => p.key === key);
  if (r) commitPlan(r.plan, `reopen plan ${r.label.split(':')[0]}`, { notice: `Reopened plan ${r.label}.` });
}
