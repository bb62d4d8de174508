import { useEffect, useRef, type MutableRefObject } from 'react';
import type { GraphModel } from './graph-model';
import { NODE_H, NODE_W, type GraphLayout } from './layout';
import type { Size, View } from './view';

const MAX_W = 160;

/** Scale from content to minimap pixels: the whole graph in at most 160 px wide and `maxH` tall. */
export function minimapScale(content: Size, maxH: number): number {
  return Math.min(MAX_W / content.w, maxH / content.h);
}

interface MinimapProps {
  model: GraphModel;
  layout: GraphLayout;
  maxHeight: number;
  /** Set by the minimap: the canvas calls it with every new view so the rectangle follows without a render. */
  updateRef: MutableRefObject<((v: View, size: Size) => void) | null>;
  /** Centre the view on content point (cx, cy). */
  onJump: (cx: number, cy: number) => void;
}

/**
 * The whole graph in small (nodes as rectangles in their group's hue, painted once per layout on a
 * canvas) with the visible part outlined; click or drag on it to move the view there.
 */
export function Minimap({ model, layout, maxHeight, updateRef, onJump }: MinimapProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const rectRef = useRef<HTMLDivElement>(null);
  const s = minimapScale({ w: layout.width, h: layout.height }, maxHeight);
  const w = Math.max(1, Math.round(layout.width * s));
  const h = Math.max(1, Math.round(layout.height * s));

  useEffect(() => {
    const c = canvasRef.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    ctx.setTransform(dpr * s, 0, 0, dpr * s, 0, 0);
    ctx.fillStyle = '#fbfcfe';
    ctx.fillRect(0, 0, layout.width, layout.height);
    ctx.strokeStyle = '#9fb3c8';
    ctx.lineWidth = 1 / s;
    ctx.beginPath();
    for (const e of layout.edges) {
      e.points.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    }
    ctx.stroke();
    model.nodes.forEach((n, i) => {
      const p = layout.nodes[i];
      if (!p) return;
      ctx.fillStyle = n.hue === null ? '#bcccdc' : `hsl(${n.hue} 60% 55%)`;
      ctx.fillRect(p.x - NODE_W / 2, p.y - NODE_H / 2, NODE_W, NODE_H);
    });
  }, [model, layout, s, w, h]);

  useEffect(() => {
    updateRef.current = (v, size) => {
      const r = rectRef.current;
      if (!r) return;
      const left = (-v.x / v.k) * s;
      const top = (-v.y / v.k) * s;
      r.style.transform = `translate(${left}px, ${top}px)`;
      r.style.width = `${(size.w / v.k) * s}px`;
      r.style.height = `${(size.h / v.k) * s}px`;
    };
    return () => {
      updateRef.current = null;
    };
  }, [s, updateRef]);

  const jump = (e: React.PointerEvent<HTMLDivElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    onJump((e.clientX - box.left) / s, (e.clientY - box.top) / s);
  };

  return (
    <div
      className="mg-minimap"
      style={{ width: w, height: h }}
      role="img"
      aria-label="Minimap of the whole graph; the outlined part is in view"
      data-testid="graph-minimap"
      onPointerDown={(e) => {
        if (e.button !== 0) return;
        e.preventDefault();
        e.currentTarget.setPointerCapture(e.pointerId);
        jump(e);
      }}
      onPointerMove={(e) => {
        if (e.currentTarget.hasPointerCapture(e.pointerId)) jump(e);
      }}
    >
      <canvas ref={canvasRef} style={{ width: w, height: h }} />
      <div ref={rectRef} className="mg-minimap-view" />
    </div>
  );
}
