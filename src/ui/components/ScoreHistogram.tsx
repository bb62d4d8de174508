import { useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { filtersBelow, histogram, importanceColor, scoreRange } from '../painters/heatmap';

const BINS = 24;
const W = 240;
const H = 44;

/**
 * A layer's score histogram with a threshold to drag: while dragging it says how many filters fall
 * below; on release every filter below is ticked, as one undoable step. Arrow keys move it too
 * (Enter applies).
 */
export function ScoreHistogram({
  layer,
  scores,
  disabled,
  onApply,
}: {
  layer: string;
  scores: readonly number[];
  disabled?: boolean;
  onApply: (threshold: number) => void;
}) {
  const [lo, hi] = useMemo(() => scoreRange(scores), [scores]);
  const counts = useMemo(() => histogram(scores, BINS, [lo, hi]), [scores, lo, hi]);
  const max = Math.max(1, ...counts);
  const [t, setT] = useState<number | null>(null);
  const svg = useRef<SVGSVGElement>(null);
  const span = hi > lo ? hi - lo : 1;
  const at = (clientX: number) => {
    const r = svg.current!.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    return lo + f * span;
  };
  const below = t === null ? 0 : filtersBelow(scores, t).length;
  const x = t === null ? null : ((t - lo) / span) * W;
  const onPointerDown = (e: PointerEvent<SVGSVGElement>) => {
    if (disabled) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    setT(at(e.clientX));
  };
  const onPointerMove = (e: PointerEvent<SVGSVGElement>) => {
    if (t !== null && e.buttons) setT(at(e.clientX));
  };
  const onPointerUp = () => {
    if (t !== null && !disabled) onApply(t);
  };
  const onKey = (e: KeyboardEvent<SVGSVGElement>) => {
    const step = span / BINS;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      setT((v) => Math.min(hi + step / 2, Math.max(lo, (v ?? lo) + (e.key === 'ArrowRight' ? step : -step))));
    } else if (e.key === 'Enter' && t !== null && !disabled) {
      e.preventDefault();
      onApply(t);
    }
  };
  return (
    <div className="histogram">
      <svg
        ref={svg}
        viewBox={`0 0 ${W} ${H}`}
        width={W}
        height={H}
        role="slider"
        tabIndex={disabled ? -1 : 0}
        aria-label={`${layer} score threshold: tick every filter below`}
        aria-valuemin={lo}
        aria-valuemax={hi}
        aria-valuenow={t ?? lo}
        aria-valuetext={t === null ? 'not set' : `${t.toPrecision(3)}: ${below} filters below`}
        aria-disabled={disabled ? true : undefined}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onKeyDown={onKey}
      >
        {counts.map((c, i) => {
          const h = (c / max) * (H - 4);
          const [r, g, b] = importanceColor((i + 0.5) / BINS);
          return (
            <rect
              key={i}
              x={(i * W) / BINS + 0.5}
              y={H - h}
              width={W / BINS - 1}
              height={h}
              fill={`rgb(${r},${g},${b})`}
              opacity={x !== null && ((i + 1) * W) / BINS <= x ? 0.35 : 1}
            />
          );
        })}
        {x !== null && <line x1={x} x2={x} y1={0} y2={H} stroke="#e0245e" strokeWidth={2} />}
      </svg>
      <span className="hint" data-testid={`threshold-${layer}`}>
        {t === null
          ? 'Drag across the histogram to tick every filter below a score.'
          : `Below ${t.toPrecision(3)}: ${below} of ${scores.length} filters`}
      </span>
    </div>
  );
}
