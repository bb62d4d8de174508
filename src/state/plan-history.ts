import type { PruningPlan } from '../core/plan/plan';
import { getModel } from './registry';
import { useWorkbench, type WorkbenchState } from './store';

/** One evaluated plan with its figures, kept so plans can be compared and reopened. */
export interface PlanRecord {
  /** JSON of the plan (the key every job uses). */
  key: string;
  plan: PruningPlan;
  label: string;
  params: number;
  flops: number;
  /** Share of the original FLOPs left (0..1). */
  flopsLeft: number;
  /** Pruned accuracy before recovery (preview or accuracy view), 0..1. */
  accuracy: number | null;
  /** Validation accuracy after fine-tuning, 0..1. */
  recovered: number | null;
  latencyMs: number | null;
}

function describe(plan: PruningPlan): string {
  const layers = Object.entries(plan.remove).filter(([, v]) => v.length > 0);
  const n = layers.reduce((k, [, v]) => k + v.length, 0);
  return n === 0 ? 'unpruned' : `${n} filters in ${layers.length} layer${layers.length > 1 ? 's' : ''}`;
}

function upsert(s: WorkbenchState, key: string, patch: Partial<PlanRecord>): PlanRecord[] | null {
  if (!s.session) return null;
  const history = s.planHistory;
  const i = history.findIndex((r) => r.key === key);
  let base: PlanRecord;
  if (i >= 0) base = history[i]!;
  else {
    const plan = JSON.parse(key) as PruningPlan;
    const cost = getModel(s.session.id).costModel;
    const after = cost.evaluate(plan);
    const before = cost.evaluate({ version: 1, remove: {} });
    base = {
      key,
      plan,
      label: `#${history.length + 1}: ${describe(plan)}`,
      params: after.params,
      flops: after.flops,
      flopsLeft: before.flops > 0 ? after.flops / before.flops : 1,
      accuracy: null,
      recovered: null,
      latencyMs: null,
    };
  }
  const next = { ...base, ...patch };
  return i >= 0 ? history.map((r, j) => (j === i ? next : r)) : [...history, next];
}

/**
 * Records every plan whose accuracy was measured (preview, accuracy view) or recovered (fine-tuning),
 * with its parameters and FLOPs, by watching the store: the jobs themselves need not know about it.
 */
export function startPlanHistory(): () => void {
  return useWorkbench.subscribe((s, prev) => {
    let history: PlanRecord[] | null = null;
    const at = (key: string | null, patch: Partial<PlanRecord>) => {
      if (!key) return;
      const merged = upsert({ ...s, planHistory: history ?? s.planHistory }, key, patch);
      if (merged) history = merged;
    };
    if (s.session !== prev.session) {
      if (s.planHistory.length) useWorkbench.setState({ planHistory: [] });
      return;
    }
    if (s.preview.status === 'done' && prev.preview.status !== 'done') {
      at(s.preview.planKey, { accuracy: s.preview.pruned });
    }
    const c = s.recover.compare;
    if (c.status === 'done' && prev.recover.compare.status !== 'done') {
      at(c.planKey, { accuracy: c.pruned?.top1 ?? null, latencyMs: c.pruned?.latencyMs ?? null });
    }
    const f = s.recover.fineTune;
    if (f.status === 'done' && prev.recover.fineTune.status !== 'done') at(f.planKey, { recovered: f.after });
    if (history) useWorkbench.setState({ planHistory: history });
  });
}

/** Reopens a recorded plan as the current ticks. */
export function reopenPlan(key: string): void {
  const r = useWorkbench.getState().planHistory.find((p) => p.key === key);
  if (r) useWorkbench.setState({ plan: r.plan, notice: `Reopened plan ${r.label}.` });
}
