import { useMemo } from 'react';
import type { CostTotals } from '../core/metrics/costs';
import { getModel } from './registry';
import { useWorkbench, type WorkbenchState } from './store';

export const selectSession = (s: WorkbenchState) => s.session;
export const selectPlan = (s: WorkbenchState) => s.plan;
export const selectScores = (s: WorkbenchState) => s.scores;
export const selectCriterion = (s: WorkbenchState) => s.criterion;
export const selectPreview = (s: WorkbenchState) => s.preview;
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

/** Totals before (empty plan) and after (current plan), recomputed from the cost model on every tick. */
export function useTotals(): { before: CostTotals; after: CostTotals } | null {
  const session = useWorkbench(selectSession);
  const plan = useWorkbench(selectPlan);
  const before = useMemo(
    () => (session ? getModel(session.id).costModel.evaluate({ version: 1, remove: {} }) : null),
    [session],
  );
  const after = useMemo(
    () => (session ? getModel(session.id).costModel.evaluate(plan) : null),
    [session, plan],
  );
  return before && after ? { before, after } : null;
}
