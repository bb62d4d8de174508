import type { KeyboardEvent, ReactNode } from 'react';
import type { JobProgress } from '../../state/jobs';
import { setCanvasTab } from '../../state/actions';
import { useWorkbench, type CanvasTab } from '../../state/store';
import { Toolbar } from './Toolbar';
import { LayerCards } from './LayerCards';
import { LayerTable } from './LayerTable';
import { GroupTable } from './GroupTable';
import { GraphView } from './GraphView';
import { AutoPlanPanel } from './AutoPlanPanel';
import { SensitivityPanel } from './SensitivityPanel';
import { GlobalSweepPanel } from './GlobalSweepPanel';
import { AccuracyPanel } from './AccuracyPanel';
import { RecoverPanel } from './RecoverPanel';
import { PlanHistoryPanel } from './PlanHistoryPanel';
import { SamplesPanel } from './SamplesPanel';
import '../analysis.css';

export const TABS: { id: CanvasTab; label: string; key: string }[] = [
  { id: 'filters', label: 'Filters', key: '1' },
  { id: 'layers', label: 'Layers', key: '2' },
  { id: 'groups', label: 'Coupled groups', key: '3' },
  { id: 'graph', label: 'Graph', key: '4' },
  { id: 'plans', label: 'Automatic plans', key: '5' },
  { id: 'sensitivity', label: 'Sensitivity', key: '6' },
  { id: 'sweep', label: 'Accuracy vs FLOPs', key: '7' },
  { id: 'samples', label: 'Samples', key: '8' },
  { id: 'accuracy', label: 'Accuracy views', key: '9' },
  { id: 'recover', label: 'Recover', key: '0' },
  { id: 'compared', label: 'Plans compared', key: '' },
];

function runningText(job: JobProgress): string {
  return job.status === 'running' && job.total > 0 ? ` (${Math.floor((100 * job.done) / job.total)}%)` : '';
}

function Panel({ id, children }: { id: CanvasTab; children: ReactNode }) {
  return (
    <div role="tabpanel" id={`tabpanel-${id}`} aria-labelledby={`tab-${id}`} className="canvas-panel">
      {children}
    </div>
  );
}

/**
 * The centre of the workbench: one wide view at a time (filters, layer table, groups, graph, and the
 * analysis, accuracy and recovery views), as tabs. Jobs keep running when the tab changes; the tab
 * says how far they are. The Filters view stays mounted (hidden) so its scroll position and the
 * focused card survive a trip to another view.
 */
export function CanvasTabs() {
  const tab = useWorkbench((s) => s.canvasTab);
  const sensitivity = useWorkbench((s) => s.jobs.sensitivity);
  const sweep = useWorkbench((s) => s.jobs.sweep);
  const finetune = useWorkbench((s) => s.jobs.finetune);
  const extra: Partial<Record<CanvasTab, string>> = {
    sensitivity: runningText(sensitivity),
    sweep: runningText(sweep),
    recover: runningText(finetune),
  };
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.findIndex((v) => v.id === tab);
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step !== 0) {
      e.preventDefault();
      const next = TABS[(i + step + TABS.length) % TABS.length]!.id;
      setCanvasTab(next);
      document.getElementById(`tab-${next}`)?.focus();
    }
  };
  return (
    <section className="canvas" aria-label="Workspace">
      <div role="tablist" aria-label="Views" className="tabs canvas-tabs" onKeyDown={onKey}>
        {TABS.map((v) => (
          <button
            key={v.id}
            type="button"
            role="tab"
            id={`tab-${v.id}`}
            aria-selected={tab === v.id}
            aria-controls={`tabpanel-${v.id}`}
            tabIndex={tab === v.id ? 0 : -1}
            title={v.key ? `${v.label} (Alt+${v.key})` : v.label}
            onClick={() => setCanvasTab(v.id)}
          >
            {v.label}
            {extra[v.id] ?? ''}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id="tabpanel-filters"
        aria-labelledby="tab-filters"
        className="canvas-panel"
        hidden={tab !== 'filters'}
      >
        <Toolbar />
        <LayerCards />
      </div>
      {tab === 'layers' && (
        <Panel id="layers">
          <LayerTable />
        </Panel>
      )}
      {tab === 'groups' && (
        <Panel id="groups">
          <GroupTable />
        </Panel>
      )}
      {tab === 'graph' && (
        <Panel id="graph">
          <GraphView />
        </Panel>
      )}
      {tab === 'plans' && (
        <Panel id="plans">
          <AutoPlanPanel />
        </Panel>
      )}
      {tab === 'sensitivity' && (
        <Panel id="sensitivity">
          <SensitivityPanel />
        </Panel>
      )}
      {tab === 'sweep' && (
        <Panel id="sweep">
          <GlobalSweepPanel />
        </Panel>
      )}
      {tab === 'samples' && (
        <Panel id="samples">
          <SamplesPanel />
        </Panel>
      )}
      {tab === 'accuracy' && (
        <Panel id="accuracy">
          <AccuracyPanel />
        </Panel>
      )}
      {tab === 'recover' && (
        <Panel id="recover">
          <RecoverPanel />
        </Panel>
      )}
      {tab === 'compared' && (
        <Panel id="compared">
          <PlanHistoryPanel />
        </Panel>
      )}
    </section>
  );
}
