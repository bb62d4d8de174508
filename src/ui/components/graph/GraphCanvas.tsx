import {
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
  type PointerEvent,
} from 'react';
import { formatChannels, type EdgeChannels, type GraphModel, type GraphNode } from './graph-model';
import { edgePath, LABEL_H, LABEL_W, NODE_H, NODE_W, type GraphLayout } from './layout';
import { Minimap } from './Minimap';
import { centreOn, fitView, initialView, overflows, revealView, zoomAt, type Size, type View } from './view';

export interface GraphCanvasProps {
  model: GraphModel;
  layout: GraphLayout;
  /** Output channels before -> after the plan, by layer, for layers whose count changes. */
  channels: ReadonlyMap<string, EdgeChannels>;
  /** The focused layer (highlighted, panned into view when it changes). */
  focusLayer: string | null;
  /** Every layer of the focused layer's group. */
  focusGroup: ReadonlySet<string>;
  /** Group summaries for the hover card, by group id. */
  groupText: (group: number) => string;
  onSelect: (layer: string) => void;
}

const ZOOM_STEP = 1.25;
/** The last view of each layout, so switching tabs and back keeps where the user was. */
const lastViews = new WeakMap<GraphLayout, View>();
const PAN_STEP = 80;
/** Pointer travel (px) before a press on a node turns into a pan instead of a click. */
const DRAG_SLOP = 4;
/** The hover card's width (graph.css) and the room it needs below a node before it flips above. */
const CARD_W = 300;
const CARD_ROOM = 110;

/**
 * The graph itself: edges in one SVG and nodes as buttons, both in one layer moved by a CSS
 * `translate() scale()`; pan and zoom write that transform straight to the DOM (no React render, no
 * re-layout), and the layer is promoted to its own compositor layer while dragging so a pan repaints
 * nothing. Wheel zooms around the pointer, drag pans, + / - / arrows / 0 work on the focused graph.
 */
export function GraphCanvas({
  model,
  layout,
  channels,
  focusLayer,
  focusGroup,
  groupText,
  onSelect,
}: GraphCanvasProps) {
  const viewportRef = useRef<HTMLDivElement>(null);
  const layerRef = useRef<HTMLDivElement>(null);
  const zoomTextRef = useRef<HTMLSpanElement>(null);
  const minimapUpdate = useRef<((v: View, size: Size) => void) | null>(null);
  const view = useRef<View>({ x: 0, y: 0, k: 1 });
  const size = useRef<Size>({ w: 0, h: 0 });
  const placed = useRef<GraphLayout | null>(null);
  const drag = useRef<{ id: number; sx: number; sy: number; v: View; moved: boolean } | null>(null);
  const dragged = useRef(false);
  const [showMinimap, setShowMinimap] = useState(false);
  const [viewHeight, setViewHeight] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [hover, setHover] = useState<{ index: number; style: CSSProperties } | null>(null);
  const contentRef = useRef<Size>({ w: layout.width, h: layout.height });

  const setView = useCallback((v: View) => {
    view.current = v;
    if (placed.current) lastViews.set(placed.current, v);
    const layer = layerRef.current;
    const vp = viewportRef.current;
    if (!layer || !vp) return;
    layer.style.transform = `translate(${v.x}px, ${v.y}px) scale(${v.k})`;
    vp.dataset.scale = v.k.toFixed(4);
    vp.dataset.x = v.x.toFixed(1);
    vp.dataset.y = v.y.toFixed(1);
    if (zoomTextRef.current) zoomTextRef.current.textContent = `${Math.round(v.k * 100)}%`;
    minimapUpdate.current?.(v, size.current);
    setShowMinimap(overflows(v, contentRef.current, size.current));
  }, []);

  // Size from the container; the first size (or a new layout) sets the initial view.
  useLayoutEffect(() => {
    contentRef.current = { w: layout.width, h: layout.height };
    const vp = viewportRef.current;
    if (!vp) return;
    const measure = () => {
      size.current = { w: vp.clientWidth, h: vp.clientHeight };
      setViewHeight(vp.clientHeight);
      if (size.current.w === 0 || size.current.h === 0) return;
      if (placed.current !== layout) {
        placed.current = layout;
        setView(lastViews.get(layout) ?? initialView(contentRef.current, size.current));
      } else {
        setView(view.current);
      }
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(vp);
    return () => ro.disconnect();
  }, [layout, setView]);

  const nodeIndex = useMemo(() => new Map(model.nodes.map((n, i) => [n.name, i])), [model]);

  const reveal = useCallback(
    (name: string, readable: boolean) => {
      const i = nodeIndex.get(name);
      const p = i === undefined ? undefined : layout.nodes[i];
      if (!p || size.current.w === 0) return;
      const next = revealView(view.current, { x: p.x, y: p.y, w: NODE_W, h: NODE_H }, size.current, readable);
      if (next !== view.current) setView(next);
    },
    [layout, nodeIndex, setView],
  );

  // The focused layer is brought into view: zoomed to 100% when it comes from elsewhere (navigator,
  // inspector) and the graph is too small to read; only panned, if needed, after a click here.
  const clickedHere = useRef(false);
  useEffect(() => {
    const fromClick = clickedHere.current;
    clickedHere.current = false;
    if (focusLayer) reveal(focusLayer, !fromClick);
  }, [focusLayer, reveal]);

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const vp = viewportRef.current;
    if (!vp) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const box = vp.getBoundingClientRect();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
      const factor = Math.exp(-Math.max(-300, Math.min(300, dy)) * 0.002);
      setView(zoomAt(view.current, factor, e.clientX - box.left, e.clientY - box.top));
    };
    vp.addEventListener('wheel', onWheel, { passive: false });
    return () => vp.removeEventListener('wheel', onWheel);
  }, [setView]);

  const zoomBy = (factor: number) =>
    setView(zoomAt(view.current, factor, size.current.w / 2, size.current.h / 2));
  const fit = () => setView(fitView(contentRef.current, size.current));

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const v = view.current;
    const step = e.shiftKey ? PAN_STEP * 3 : PAN_STEP;
    let next: View | null = null;
    if (e.key === '+' || e.key === '=') next = zoomAt(v, ZOOM_STEP, size.current.w / 2, size.current.h / 2);
    else if (e.key === '-' || e.key === '_')
      next = zoomAt(v, 1 / ZOOM_STEP, size.current.w / 2, size.current.h / 2);
    else if (e.key === '0') next = fitView(contentRef.current, size.current);
    else if (e.key === 'ArrowLeft') next = { ...v, x: v.x + step };
    else if (e.key === 'ArrowRight') next = { ...v, x: v.x - step };
    else if (e.key === 'ArrowUp') next = { ...v, y: v.y + step };
    else if (e.key === 'ArrowDown') next = { ...v, y: v.y - step };
    if (!next) return;
    e.preventDefault();
    e.stopPropagation();
    setView(next);
  };

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    drag.current = { id: e.pointerId, sx: e.clientX, sy: e.clientY, v: view.current, moved: false };
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.id !== e.pointerId) return;
    const dx = e.clientX - d.sx;
    const dy = e.clientY - d.sy;
    if (!d.moved) {
      if (Math.hypot(dx, dy) < DRAG_SLOP) return;
      d.moved = true;
      try {
        e.currentTarget.setPointerCapture(e.pointerId);
      } catch {
        // a synthetic pointer (the benchmark's) cannot be captured; the pan works without it
      }
      e.currentTarget.classList.add('mg-panning');
      setHover(null);
    }
    setView({ k: d.v.k, x: d.v.x + dx, y: d.v.y + dy });
  };
  const endDrag = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.id !== e.pointerId) return;
    drag.current = null;
    if (d.moved) {
      dragged.current = true;
      setTimeout(() => (dragged.current = false), 0);
      e.currentTarget.classList.remove('mg-panning');
    }
  };

  const select = useCallback(
    (name: string) => {
      if (dragged.current) return;
      clickedHere.current = true;
      setTimeout(() => (clickedHere.current = false), 0);
      setSelected(name);
      onSelect(name);
    },
    [onSelect],
  );
  const onHover = useCallback((index: number | null, el: HTMLElement | null) => {
    const vp = viewportRef.current;
    if (index === null || !el || !vp || drag.current?.moved) {
      setHover(null);
      return;
    }
    const a = el.getBoundingClientRect();
    const b = vp.getBoundingClientRect();
    // Below the node, or above it when the view's bottom edge would cut the card; never off the sides.
    const left = Math.max(4, Math.min(a.left - b.left, b.width - CARD_W - 4));
    const style: CSSProperties =
      b.bottom - a.bottom > CARD_ROOM
        ? { left, top: a.bottom - b.top + 6 }
        : { left, bottom: b.bottom - a.top + 6 };
    setHover({ index, style });
  }, []);
  // Focusing a node off-screen (Tab, find in page, scrollIntoView) scrolls the overflow: hidden
  // viewport; turn that scroll into the same pan, so the transform stays the one source of position.
  const absorbScroll = useCallback(() => {
    const vp = viewportRef.current;
    if (!vp || (vp.scrollTop === 0 && vp.scrollLeft === 0)) return;
    const v = view.current;
    const next = { k: v.k, x: v.x - vp.scrollLeft, y: v.y - vp.scrollTop };
    vp.scrollTop = 0;
    vp.scrollLeft = 0;
    setView(next);
  }, [setView]);
  const onFocusIn = (e: React.FocusEvent<HTMLDivElement>) => {
    absorbScroll();
    const name = (e.target as HTMLElement).dataset.layer;
    // Keyboard focus (Tab) shows the node readable; a mouse press leaves the view to the click.
    const target = e.target as HTMLElement;
    if (name && target.matches(':focus-visible')) reveal(name, true);
  };

  const hovered = hover ? model.nodes[hover.index] : undefined;
  return (
    <div className="mg-root">
      <div
        ref={viewportRef}
        className="mg-viewport"
        role="region"
        aria-label={`Model graph: ${model.nodes.length} layers, ${model.edges.length} connections`}
        aria-keyshortcuts="+ - 0 ArrowUp ArrowDown ArrowLeft ArrowRight"
        tabIndex={0}
        onKeyDown={onKeyDown}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={endDrag}
        onPointerCancel={endDrag}
        onFocus={onFocusIn}
        onScroll={absorbScroll}
        data-layout-ms={layout.ms.toFixed(1)}
      >
        <div
          ref={layerRef}
          className="mg-layer"
          data-testid="graph-layer"
          style={{ width: layout.width, height: layout.height }}
        >
          <Edges model={model} layout={layout} channels={channels} focusGroup={focusGroup} />
          <Nodes
            model={model}
            layout={layout}
            focusLayer={focusLayer}
            focusGroup={focusGroup}
            selected={selected}
            onSelect={select}
            onHover={onHover}
          />
        </div>
      </div>
      <div className="mg-controls" role="toolbar" aria-label="Graph zoom">
        <button type="button" aria-label="Zoom in" title="Zoom in (+)" onClick={() => zoomBy(ZOOM_STEP)}>
          +
        </button>
        <span ref={zoomTextRef} className="mg-zoom" aria-live="off">
          100%
        </span>
        <button
          type="button"
          aria-label="Zoom out"
          title="Zoom out (-)"
          onClick={() => zoomBy(1 / ZOOM_STEP)}
        >
          −
        </button>
        <button type="button" aria-label="Fit graph to view" title="Fit (0)" onClick={fit}>
          Fit
        </button>
      </div>
      {showMinimap && (
        <Minimap
          model={model}
          layout={layout}
          maxHeight={Math.max(80, viewHeight - 20)}
          updateRef={minimapUpdate}
          onJump={(cx, cy) => setView(centreOn(view.current, cx, cy, size.current))}
        />
      )}
      {hovered && hover && (
        <HoverCard
          node={hovered}
          channels={channels.get(hovered.name)}
          group={hovered.group === null ? null : groupText(hovered.group)}
          style={hover.style}
        />
      )}
    </div>
  );
}

function HoverCard({
  node,
  channels,
  group,
  style,
}: {
  node: GraphNode;
  channels: EdgeChannels | undefined;
  group: string | null;
  style: CSSProperties;
}) {
  return (
    <div className="mg-card" style={style} role="tooltip">
      <strong>{node.name}</strong>
      <div>
        {node.className} · {node.shape}
      </div>
      {channels && <div className="mg-card-pruned">channels {formatChannels(channels)}</div>}
      {group && <div>{group}</div>}
      {node.frozen && <div className="mg-card-frozen">Frozen: {node.frozen}</div>}
    </div>
  );
}

const Edges = memo(function Edges({
  model,
  layout,
  channels,
  focusGroup,
}: {
  model: GraphModel;
  layout: GraphLayout;
  channels: ReadonlyMap<string, EdgeChannels>;
  focusGroup: ReadonlySet<string>;
}) {
  return (
    <svg className="mg-edges" width={layout.width} height={layout.height} aria-label="Connections">
      <defs>
        <marker
          id="mg-arrow"
          viewBox="0 0 8 8"
          refX="7"
          refY="4"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0,0.5 L7.5,4 L0,7.5 z" className="mg-arrowhead" />
        </marker>
        <marker
          id="mg-arrow-pruned"
          viewBox="0 0 8 8"
          refX="7"
          refY="4"
          markerWidth="7"
          markerHeight="7"
          orient="auto-start-reverse"
        >
          <path d="M0,0.5 L7.5,4 L0,7.5 z" className="mg-arrowhead mg-arrowhead-pruned" />
        </marker>
      </defs>
      <g aria-hidden="true">
        {model.edges.map((e, i) => {
          const l = layout.edges[i];
          if (!l) return null;
          const pruned = channels.has(e.from);
          const hot = focusGroup.has(e.from) && focusGroup.has(e.to);
          return (
            <path
              key={`${e.from}\u0000${e.to}`}
              d={edgePath(l.points)}
              className={`mg-edge${pruned ? ' mg-edge-pruned' : ''}${hot ? ' mg-edge-hot' : ''}`}
              markerEnd={pruned ? 'url(#mg-arrow-pruned)' : 'url(#mg-arrow)'}
            />
          );
        })}
      </g>
      <g className="mg-edge-labels">
        {model.edges.map((e, i) => {
          const c = channels.get(e.from);
          const l = layout.edges[i];
          if (!c || !l) return null;
          return (
            <g key={`${e.from}\u0000${e.to}`} transform={`translate(${l.label.x},${l.label.y})`}>
              <rect x={-LABEL_W / 2} y={-LABEL_H / 2} width={LABEL_W} height={LABEL_H} rx={8} />
              <text
                y={0.5}
                dominantBaseline="middle"
                textAnchor="middle"
                data-testid="edge-label"
                data-from={e.from}
                data-to={e.to}
              >
                {formatChannels(c)}
              </text>
            </g>
          );
        })}
      </g>
    </svg>
  );
});

const Nodes = memo(function Nodes({
  model,
  layout,
  focusLayer,
  focusGroup,
  selected,
  onSelect,
  onHover,
}: {
  model: GraphModel;
  layout: GraphLayout;
  focusLayer: string | null;
  focusGroup: ReadonlySet<string>;
  selected: string | null;
  onSelect: (name: string) => void;
  onHover: (index: number | null, el: HTMLElement | null) => void;
}) {
  return (
    <>
      {model.nodes.map((n, i) => {
        const p = layout.nodes[i];
        if (!p) return null;
        return (
          <NodeButton
            key={n.name}
            node={n}
            index={i}
            x={p.x - NODE_W / 2}
            y={p.y - NODE_H / 2}
            focus={n.name === focusLayer}
            coupled={focusGroup.has(n.name)}
            selected={n.name === selected}
            onSelect={onSelect}
            onHover={onHover}
          />
        );
      })}
    </>
  );
});

const NodeButton = memo(function NodeButton({
  node,
  index,
  x,
  y,
  focus,
  coupled,
  selected,
  onSelect,
  onHover,
}: {
  node: GraphNode;
  index: number;
  x: number;
  y: number;
  focus: boolean;
  coupled: boolean;
  selected: boolean;
  onSelect: (name: string) => void;
  onHover: (index: number | null, el: HTMLElement | null) => void;
}) {
  const cls = [
    'mg-node',
    node.producer ? 'mg-producer' : '',
    node.frozen ? 'mg-frozen' : '',
    node.hue === null ? 'mg-plain' : '',
    coupled ? 'mg-coupled' : '',
    focus ? 'mg-focus' : '',
    selected ? 'mg-selected' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <button
      type="button"
      className={cls}
      style={{
        left: x,
        top: y,
        width: NODE_W,
        height: NODE_H,
        ...(node.hue === null ? {} : { ['--g-hue' as string]: node.hue }),
      }}
      data-layer={node.name}
      aria-label={node.label}
      aria-description={node.frozen ? `Frozen: ${node.frozen}` : undefined}
      aria-current={focus ? 'true' : undefined}
      onClick={() => onSelect(node.name)}
      onPointerEnter={(e) => onHover(index, e.currentTarget)}
      onPointerLeave={() => onHover(null, null)}
      onFocus={(e) => onHover(index, e.currentTarget)}
      onBlur={() => onHover(null, null)}
    >
      <span className="mg-name">{node.name}</span>
      <span className="mg-meta">
        {node.className} · {node.shape}
      </span>
      {node.frozen && (
        <span className="mg-lock" aria-hidden="true">
          frozen
        </span>
      )}
    </button>
  );
});
