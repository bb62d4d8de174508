import { useMemo, useRef } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ChannelGroup } from '../../core/graph/types';
import { revealLayer, setCanvasTab, setNavigator } from '../../state/actions';
import { useWorkbench } from '../../state/store';

const FILTERS = [
  { id: 'all', label: 'All' },
  { id: 'prunable', label: 'Prunable' },
  { id: 'selected', label: 'With ticks' },
  { id: 'frozen', label: 'Frozen' },
] as const;

/** Layer names and classes of a group, for search. */
function haystack(g: ChannelGroup, classes: Record<string, string>): string {
  const layers = [...new Set([...g.producers, ...g.members.map((m) => m.layer)])];
  return layers
    .map((l) => `${l} ${classes[l] ?? ''}`)
    .join(' ')
    .toLowerCase();
}

/**
 * The left navigator: every group of coupled channels (named by its producer), searchable by layer
 * name or class, filtered to prunable, ticked or frozen ones (frozen with the reason), virtualised
 * for thousands of layers. Choosing one jumps to its heatmap and opens it in the inspector.
 */
export function Navigator() {
  const session = useWorkbench((s) => s.session);
  const plan = useWorkbench((s) => s.plan);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  const { query, filter } = useWorkbench((s) => s.navigator);
  const classes = useMemo(
    () => Object.fromEntries((session?.ir.layers ?? []).map((l) => [l.name, l.className])),
    [session],
  );
  const index = useMemo(
    () => (session?.graph.groups ?? []).map((g) => ({ g, text: haystack(g, classes) })),
    [session, classes],
  );
  const q = query.trim().toLowerCase();
  const shown = index
    .filter(({ g, text }) => {
      if (q && !text.includes(q)) return false;
      if (filter === 'prunable') return g.prunable;
      if (filter === 'frozen') return !g.prunable;
      if (filter === 'selected') return (plan.remove[g.producer]?.length ?? 0) > 0;
      return true;
    })
    .map(({ g }) => g);
  const parent = useRef<HTMLDivElement>(null);
  // The virtualizer is read on every render (it is not memoised by design).
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: shown.length,
    getScrollElement: () => parent.current,
    estimateSize: () => 44,
    overscan: 8,
  });
  if (!session) return null;
  const open = (g: ChannelGroup) => {
    revealLayer(g.producer);
    setCanvasTab('filters');
  };
  return (
    <nav className="navigator" aria-label="Layers and groups">
      <input
        type="search"
        id="layer-search"
        placeholder="Search layers (name or class)  /"
        aria-label="Search layers"
        value={query}
        onChange={(e) => setNavigator({ query: e.currentTarget.value })}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && shown[0]) open(shown[0]);
        }}
      />
      <div className="nav-filters" role="radiogroup" aria-label="Show">
        {FILTERS.map((f) => (
          <label key={f.id} className={filter === f.id ? 'active' : undefined}>
            <input
              type="radio"
              name="nav-filter"
              checked={filter === f.id}
              onChange={() => setNavigator({ filter: f.id })}
            />
            {f.label}
          </label>
        ))}
      </div>
      <p className="hint nav-count" role="status" data-testid="nav-count">
        {shown.length} of {session.graph.groups.length} groups
      </p>
      <div className="nav-list" ref={parent}>
        <ul style={{ height: virtualizer.getTotalSize() }} aria-label="Groups">
          {virtualizer.getVirtualItems().map((item) => {
            const g = shown[item.index]!;
            const ticked = plan.remove[g.producer]?.length ?? 0;
            const current =
              focusLayer !== null && (g.producer === focusLayer || g.producers.includes(focusLayer));
            return (
              <li key={g.id} style={{ transform: `translateY(${item.start}px)` }} data-index={item.index}>
                <button
                  type="button"
                  aria-current={current ? 'true' : undefined}
                  className={g.prunable ? undefined : 'frozen'}
                  title={g.prunable ? undefined : `Frozen: ${g.reason ?? 'not prunable'}`}
                  onClick={() => open(g)}
                >
                  <span className="nav-name">{g.producer}</span>
                  <span className="nav-meta">
                    {classes[g.producer] ?? ''} · {g.size}
                    {g.producers.length > 1 ? ` · ${g.producers.length} coupled` : ''}
                    {ticked > 0 ? ` · ${ticked} ticked` : ''}
                    {g.prunable ? '' : ' · frozen'}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      </div>
    </nav>
  );
}
