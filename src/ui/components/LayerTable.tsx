import { useMemo } from 'react';
import { useTotals } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
import { setFocusLayer } from '../../state/actions';
import { formatCount, formatShape } from '../format';

/** Every layer with class, output shape, parameters and FLOPs (before → after), and what it is coupled to. */
export function LayerTable() {
  const session = useWorkbench((s) => s.session);
  const plan = useWorkbench((s) => s.plan);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  const totals = useTotals();
  const coupled = useMemo(() => {
    const out = new Set<string>();
    if (!session || !focusLayer) return out;
    const own = session.graph.groupByProducer[focusLayer];
    const ids = own !== undefined ? [own] : (session.graph.groupsByLayer[focusLayer] ?? []);
    for (const gid of ids) for (const m of session.graph.groups[gid]?.members ?? []) out.add(m.layer);
    return out;
  }, [session, focusLayer]);
  if (!session || !totals) return null;
  const afterByName = new Map(totals.after.layers.map((l) => [l.name, l]));
  const beforeByName = new Map(totals.before.layers.map((l) => [l.name, l]));
  return (
    <table className="layer-table">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Layer</th>
          <th scope="col">Class</th>
          <th scope="col">Output shape</th>
          <th scope="col">Params</th>
          <th scope="col">FLOPs</th>
          <th scope="col">Filters kept</th>
        </tr>
      </thead>
      <tbody>
        {session.ir.layers.map((layer) => {
          const b = beforeByName.get(layer.name);
          const a = afterByName.get(layer.name);
          const gid = session.graph.groupByProducer[layer.name];
          const group = gid === undefined ? undefined : session.graph.groups[gid];
          const removed = group ? (plan.remove[group.producer]?.length ?? 0) : 0;
          const shapeText = formatShape(layer.outputShape);
          const lastDim = layer.outputShape[layer.outputShape.length - 1];
          const shrunk = a?.outChannels !== undefined && lastDim !== a.outChannels;
          const changed = (a?.params ?? 0) !== (b?.params ?? 0);
          return (
            <tr
              key={layer.name}
              data-layer={layer.name}
              className={`${coupled.has(layer.name) ? 'coupled' : ''}${changed ? ' changed' : ''}`}
              onMouseEnter={group ? () => setFocusLayer(layer.name) : undefined}
            >
              <td>{layer.index}</td>
              <td>
                {group ? (
                  <a href={`#layer-${group.producer}`} onFocus={() => setFocusLayer(layer.name)}>
                    {layer.name}
                  </a>
                ) : (
                  layer.name
                )}
              </td>
              <td>{layer.className}</td>
              <td data-testid={`shape-${layer.name}`}>
                {shrunk ? (
                  <>
                    {shapeText} → <strong>{a?.outChannels}</strong>
                  </>
                ) : (
                  shapeText
                )}
              </td>
              <td data-value={a?.params ?? 0}>
                {changed
                  ? `${formatCount(b?.params ?? 0)} → ${formatCount(a?.params ?? 0)}`
                  : formatCount(b?.params ?? 0)}
              </td>
              <td data-value={a?.flops ?? 0}>
                {(a?.flops ?? 0) !== (b?.flops ?? 0)
                  ? `${formatCount(b?.flops ?? 0)} → ${formatCount(a?.flops ?? 0)}`
                  : formatCount(b?.flops ?? 0)}
              </td>
              <td>
                {group
                  ? group.prunable
                    ? `${group.size - removed} / ${group.size}`
                    : `${group.size} (fixed)`
                  : ''}
              </td>
            </tr>
          );
        })}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={4}>
            Total
          </th>
          <td data-testid="table-total-params">
            {formatCount(totals.before.params)} → {formatCount(totals.after.params)}
          </td>
          <td>
            {formatCount(totals.before.flops)} → {formatCount(totals.after.flops)}
          </td>
          <td />
        </tr>
      </tfoot>
    </table>
  );
}
