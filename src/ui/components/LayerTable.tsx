import { memo, useMemo } from 'react';
import type { LayerIR } from '../../core/ir/model-ir';
import type { ChannelGroup } from '../../core/graph/types';
import { useTotals } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
import { setFocusLayer } from '../../state/actions';
import { formatCount, formatShape } from '../format';

interface RowProps {
  layer: LayerIR;
  group: ChannelGroup | undefined;
  removed: number;
  coupled: boolean;
  paramsBefore: number;
  paramsAfter: number;
  flopsBefore: number;
  flopsAfter: number;
  outChannels: number | undefined;
}

/**
 * One layer's row. Memoised on primitive props, so a tick re-renders only the rows whose figures
 * changed (the tick -> totals budget is 16 ms on a 300-layer model; see `npm run bench:ui`).
 */
const LayerRow = memo(function LayerRow(p: RowProps) {
  const { layer, group } = p;
  const shapeText = formatShape(layer.outputShape);
  const lastDim = layer.outputShape[layer.outputShape.length - 1];
  const shrunk = p.outChannels !== undefined && lastDim !== p.outChannels;
  const changed = p.paramsAfter !== p.paramsBefore;
  return (
    <tr
      data-layer={layer.name}
      className={`${p.coupled ? 'coupled' : ''}${changed ? ' changed' : ''}`}
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
            {shapeText} → <strong>{p.outChannels}</strong>
          </>
        ) : (
          shapeText
        )}
      </td>
      <td data-value={p.paramsAfter}>
        {changed
          ? `${formatCount(p.paramsBefore)} → ${formatCount(p.paramsAfter)}`
          : formatCount(p.paramsBefore)}
      </td>
      <td data-value={p.flopsAfter}>
        {p.flopsAfter !== p.flopsBefore
          ? `${formatCount(p.flopsBefore)} → ${formatCount(p.flopsAfter)}`
          : formatCount(p.flopsBefore)}
      </td>
      <td>
        {group
          ? group.prunable
            ? `${group.size - p.removed} / ${group.size}`
            : `${group.size} (fixed)`
          : ''}
      </td>
    </tr>
  );
});

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
  const beforeByName = useMemo(
    () => new Map(totals?.before.layers.map((l) => [l.name, l])),
    [totals?.before],
  );
  if (!session || !totals) return null;
  const afterByName = new Map(totals.after.layers.map((l) => [l.name, l]));
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
          return (
            <LayerRow
              key={layer.name}
              layer={layer}
              group={group}
              removed={group ? (plan.remove[group.producer]?.length ?? 0) : 0}
              coupled={coupled.has(layer.name)}
              paramsBefore={b?.params ?? 0}
              paramsAfter={a?.params ?? 0}
              flopsBefore={b?.flops ?? 0}
              flopsAfter={a?.flops ?? 0}
              outChannels={a?.outChannels}
            />
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
