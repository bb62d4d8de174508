import { useMemo } from 'react';
import { revealLayer } from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { layoutGraph, NODE_H, NODE_W } from '../painters/graph-layout';

/**
 * A compact graph of the model: layers as nodes in longest-path ranks, edges as lines. Producers of
 * prunable groups are outlined, the focused group's layers are filled amber, layers with ticked
 * filters carry a red mark. Selecting a node scrolls to its group's heatmap.
 */
export function GraphView() {
  const session = useWorkbench((s) => s.session);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  const plan = useWorkbench((s) => s.plan);
  const layout = useMemo(() => (session ? layoutGraph(session.ir.layers) : null), [session]);
  const coupled = useMemo(() => {
    const out = new Set<string>();
    if (!session || !focusLayer) return out;
    const own = session.graph.groupByProducer[focusLayer];
    for (const gid of own !== undefined ? [own] : (session.graph.groupsByLayer[focusLayer] ?? [])) {
      for (const m of session.graph.groups[gid]?.members ?? []) out.add(m.layer);
    }
    return out;
  }, [session, focusLayer]);
  if (!session || !layout) return null;
  const pos = new Map(layout.nodes.map((n) => [n.name, n]));
  const classOf = new Map(session.ir.layers.map((l) => [l.name, l.className]));
  const open = (name: string) => {
    const producer = revealLayer(name);
    if (producer) document.getElementById(`layer-${producer}`)?.scrollIntoView({ block: 'center' });
  };
  return (
    <div className="graph-view" data-testid="graph-view">
      <svg
        width={layout.width}
        height={layout.height}
        role="group"
        aria-label={`Model graph: ${layout.nodes.length} layers, ${layout.edges.length} connections`}
      >
        {layout.edges.map((e) => {
          const a = pos.get(e.from)!;
          const b = pos.get(e.to)!;
          return (
            <line
              key={`${e.from}->${e.to}`}
              x1={a.x + NODE_W / 2}
              y1={a.y + NODE_H}
              x2={b.x + NODE_W / 2}
              y2={b.y}
              className="edge"
            />
          );
        })}
        {layout.nodes.map((n) => {
          const gid = session.graph.groupByProducer[n.name];
          const group = gid === undefined ? undefined : session.graph.groups[gid];
          const ticked = group ? (plan.remove[group.producer]?.length ?? 0) > 0 : false;
          const cls = [
            'node',
            group ? (group.prunable ? 'producer' : 'fixed') : '',
            coupled.has(n.name) ? 'coupled' : '',
            n.name === focusLayer ? 'focus' : '',
          ].join(' ');
          return (
            <g
              key={n.name}
              transform={`translate(${n.x},${n.y})`}
              className={cls}
              role="button"
              tabIndex={0}
              data-layer={n.name}
              aria-label={`${n.name} (${classOf.get(n.name) ?? ''})${coupled.has(n.name) ? ', coupled' : ''}`}
              onClick={() => open(n.name)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  open(n.name);
                }
              }}
            >
              <title>{`${n.name}: ${classOf.get(n.name) ?? ''}`}</title>
              <rect width={NODE_W} height={NODE_H} rx={3} />
              <text x={4} y={13}>
                {n.name.length > 20 ? `${n.name.slice(0, 19)}…` : n.name}
              </text>
              {ticked && <circle cx={NODE_W - 6} cy={NODE_H / 2} r={3.5} className="ticked" />}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
