import { Toolbar } from './Toolbar';
import { TotalsPanel } from './TotalsPanel';
import { LayersPanel } from './LayersPanel';
import { LayerCards } from './LayerCards';
import { PreviewPanel } from './PreviewPanel';
import { SamplesPanel } from './SamplesPanel';
import { AccuracyPanel } from './AccuracyPanel';
import { RecoverPanel } from './RecoverPanel';
import { PlanHistoryPanel } from './PlanHistoryPanel';
import { HistoryPanel } from './HistoryPanel';
import { ExportPanel } from './ExportPanel';
import { AnalysisPanels } from './AnalysisPanels';
import { useWorkbench } from '../../state/store';

/** The workbench for an open model: totals, preview and export on the side; layers and filters in the main column. */
export function Workbench() {
  const session = useWorkbench((s) => s.session);
  if (!session) return null;
  return (
    <div className="workbench">
      <aside className="side">
        <p className="model-name">
          <strong>{session.name}</strong> · {session.ir.kind} · {session.ir.layers.length} layers
        </p>
        <TotalsPanel />
        <HistoryPanel />
        <PreviewPanel />
        <SamplesPanel />
        <AccuracyPanel />
        <RecoverPanel />
        <PlanHistoryPanel />
        <ExportPanel />
      </aside>
      <div className="main-col">
        <Toolbar />
        <AnalysisPanels />
        <LayersPanel />
        <LayerCards />
      </div>
    </div>
  );
}
