import { setLayerView } from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { GraphView } from './GraphView';
import { GroupTable } from './GroupTable';
import { LayerTable } from './LayerTable';

const VIEWS = [
  { id: 'layers', label: 'Layers' },
  { id: 'groups', label: 'Coupled groups' },
  { id: 'graph', label: 'Graph' },
] as const;

/** The model's structure, three ways: every layer, one row per coupled group, or a compact graph. */
export function LayersPanel() {
  const view = useWorkbench((s) => s.layerView);
  return (
    <section className="panel layers" aria-label="Layers">
      <div className="view-switch" role="tablist" aria-label="Layer view">
        {VIEWS.map((v) => (
          <button
            key={v.id}
            type="button"
            role="tab"
            aria-selected={view === v.id}
            className={view === v.id ? 'active' : undefined}
            onClick={() => setLayerView(v.id)}
          >
            {v.label}
          </button>
        ))}
      </div>
      {view === 'layers' && <LayerTable />}
      {view === 'groups' && <GroupTable />}
      {view === 'graph' && <GraphView />}
    </section>
  );
}
