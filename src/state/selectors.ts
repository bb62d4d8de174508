import { useMemo } from 'react';
import type { CostTotals } from '../core/metrics/costs';
import { getModel } from './registry';
import { useWorkbench, type SessionSlice, type WorkbenchState } from './store';
import type { PruningPlan } from '../core/plan/plan';

export const selectSession = (s: WorkbenchState) => s.session;
export const selectPlan = (s: WorkbenchState) => s.plan;
export const selectScores = (s: WorkbenchState) => s.scores;
export const selectCriterion = (s: WorkbenchState) => s.criterion;
export const selectSampleSet = (s: WorkbenchState) => s.sampleSet;
export const selectFocusLayer = (s: WorkbenchState) => s.focusLayer;

/** Counts of selected filters: overall and per layer. */
export function countSelected(plan: WorkbenchState['plan']): { total: number; layers: number } {
  let total = 0;
  let layers = 0;
  for (const v of Object.values(plan.remove)) {
    if (v.length > 0) layers++;
    total += v.length;
  }
  return { total, layers };
}

const EMPTY_PLAN: PruningPlan = { version: 1, remove: {} };
/**
 * Totals per (session, plan) object: plans are replaced, never mutated, so the object is the key. The
 * totals, layer table and download panels all ask on every tick; the cost model runs once.
 */
const totalsCache = new WeakMap<SessionSlice, WeakMap<PruningPlan, CostTotals>>();

function totalsFor(session: SessionSlice, plan: PruningPlan): CostTotals {
  let perSession = totalsCache.get(session);
  if (!perSession) totalsCache.set(session, (perSession = new WeakMap()));
  let t = perSession.get(plan);
  if (!t) perSession.set(plan, (t = getModel(session.id).costModel.evaluate(plan)));
  return t;
}

/** Totals before (empty plan) and after (current plan), recomputed from the cost model on every tick. */
export function useTotals(): { before: CostTotals; after: CostTotals } | null {
  const session = useWorkbench(selectSession);
  const plan = useWorkbench(selectPlan);
  return useMemo(
    () => (session ? { before: totalsFor(session, EMPTY_PLAN), after: totalsFor(session, plan) } : null),
    [session, plan],
  );
}
