import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ChannelGraph } from '../../../core/graph/types';
import type { ModelIR } from '../../../core/ir/model-ir';
import { revealLayer } from '../../../state/actions';
import { useWorkbench } from '../../../state/store';
import { GraphCanvas } from './GraphCanvas';
import { buildGraphModel, edgeChannels, type GraphModel } from './graph-model';
import type { GraphLayout } from './layout';
import { layoutFor } from './layout-client';
import './graph.css';

export interface ModelGraphProps {
  /** Called after a node is selected (its group is focused in the store), with the group's producer (null when the layer has no group). */
  onReveal?: (producer: string | null, layer: string) => void;
}

const models = new WeakMap<ModelIR, GraphModel>();

/** One graph model per IR, whatever else in the session changes. */
function modelFor(ir: ModelIR, graph: ChannelGraph): GraphModel {
  let m = models.get(ir);
  if (!m) {
    m = buildGraphModel(ir, graph);
    models.set(ir, m);
  }
  return m;
}

type LayoutState = { model: GraphModel; layout: GraphLayout } | { model: GraphModel; error: string };

function useLayout(model: GraphModel | null): LayoutState | null {
  const [state, setState] = useState<LayoutState | null>(null);
  useEffect(() => {
    if (!model) return;
    let live = true;
    layoutFor(model).then(
      (layout) => live && setState({ model, layout }),
      (e: unknown) => live && setState({ model, error: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [model]);
  return state && state.model === model ? state : null;
}

/**
 * The open model as a zoomable, pannable graph (Netron-like): layers with class and output shape,
 * coupled groups in one hue, frozen groups hatched with the reason on hover, channels removed by the
 * plan on the edges ("64 → 20"), a minimap when the graph is larger than the view. Selecting a node
 * focuses its group for the navigator and inspector. Fills its container (give it a height).
 */
export function ModelGraph({ onReveal }: ModelGraphProps) {
  const session = useWorkbench((s) => s.session);
  const plan = useWorkbench((s) => s.plan);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  const model = useMemo(() => (session ? modelFor(session.ir, session.graph) : null), [session]);
  const laid = useLayout(model);
  const graph = session?.graph;
  const channels = useMemo(
    () => (model && graph ? edgeChannels(model, graph, plan) : new Map()),
    [model, graph, plan],
  );
  const focusGroup = useMemo(() => {
    const out = new Set<string>();
    if (!graph || !focusLayer) return out;
    const own = graph.groupByProducer[focusLayer];
    for (const gid of own !== undefined ? [own] : (graph.groupsByLayer[focusLayer] ?? [])) {
      for (const m of graph.groups[gid]?.members ?? []) out.add(m.layer);
    }
    return out;
  }, [graph, focusLayer]);
  const groupText = useCallback(
    (gid: number) => {
      const g = graph?.groups[gid];
      if (!g) return '';
      const others = g.producers.length > 1 ? `, coupled: ${g.producers.join(', ')}` : '';
      const layers = g.members.length === 1 ? '1 layer' : `${g.members.length} layers`;
      return `Group ${gid}: ${g.size} channels, ${layers}${others}`;
    },
    [graph],
  );
  const select = useCallback(
    (layer: string) => {
      const producer = revealLayer(layer);
      onReveal?.(producer, layer);
    },
    [onReveal],
  );

  if (!session || !model) return null;
  if (!laid) {
    return (
      <div className="mg-root mg-status" role="status">
        Laying out {model.nodes.length} layers…
      </div>
    );
  }
  if ('error' in laid) {
    return (
      <div className="mg-root mg-status" role="alert">
        The graph could not be laid out: {laid.error}
      </div>
    );
  }
  return (
    <GraphCanvas
      model={model}
      layout={laid.layout}
      channels={channels}
      focusLayer={focusLayer}
      focusGroup={focusGroup}
      groupText={groupText}
      onSelect={select}
    />
  );
}
