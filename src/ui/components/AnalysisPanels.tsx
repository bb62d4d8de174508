import { useState, type KeyboardEvent } from 'react';
import type { JobProgress } from '../../state/jobs';
import { useWorkbench } from '../../state/store';
import { AutoPlanPanel } from './AutoPlanPanel';
import { GlobalSweepPanel } from './GlobalSweepPanel';
import { SensitivityPanel } from './SensitivityPanel';
import '../analysis.css';

type View = 'plans' | 'sensitivity' | 'sweep';

const VIEWS: { id: View; label: string }[] = [
  { id: 'plans', label: 'Automatic plans' },
  { id: 'sensitivity', label: 'Sensitivity' },
  { id: 'sweep', label: 'Accuracy vs FLOPs' },
];

function runningText(job: JobProgress): string {
  return job.status === 'running' && job.total > 0 ? ` (${Math.floor((100 * job.done) / job.total)}%)` : '';
}

/**
 * The analysis views as tabs: automatic plans, sensitivity analysis, and the global sweep. A job keeps
 * running, and its results stay in the store, when the user switches tabs; the tab says how far it is.
 */
export function AnalysisPanels() {
  const [view, setView] = useState<View>('plans');
  const sensitivity = useWorkbench((s) => s.jobs.sensitivity);
  const sweep = useWorkbench((s) => s.jobs.sweep);
  const extra: Record<View, string> = {
    plans: '',
    sensitivity: runningText(sensitivity),
    sweep: runningText(sweep),
  };
  const onKey = (e: KeyboardEvent) => {
    const i = VIEWS.findIndex((v) => v.id === view);
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step !== 0) {
      e.preventDefault();
      setView(VIEWS[(i + step + VIEWS.length) % VIEWS.length]!.id);
    }
  };
  return (
    <section className="analysis" aria-label="Analysis">
      <div role="tablist" aria-label="Analysis views" className="tabs" onKeyDown={onKey}>
        {VIEWS.map((v) => (
          <button
            key={v.id}
            type="button"
            role="tab"
            id={`tab-${v.id}`}
            aria-selected={view === v.id}
            aria-controls={`tabpanel-${v.id}`}
            tabIndex={view === v.id ? 0 : -1}
            onClick={() => setView(v.id)}
          >
            {v.label}
            {extra[v.id]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`tabpanel-${view}`} aria-labelledby={`tab-${view}`}>
        {view === 'plans' && <AutoPlanPanel />}
        {view === 'sensitivity' && <SensitivityPanel />}
        {view === 'sweep' && <GlobalSweepPanel />}
      </div>
    </section>
  );
}
