import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { hitTest, layoutHeatmap, paintHeatmap, scoreRange, sortedOrder } from '../painters/heatmap';

interface Props {
  layer: string;
  criterion: string;
  scores: readonly number[];
  selected: readonly number[];
  disabled?: boolean;
  /** Colour range (a global one to compare layers); default: this layer's min and max. */
  range?: readonly [number, number];
  /** Show filters sorted by score (lowest first) instead of by index. */
  sorted?: boolean;
  onToggle: (channel: number, range: boolean) => void;
  /** A shift-click range in sorted order: these filters all ticked (or unticked), as one step. */
  onRange?: (channels: number[], select: boolean) => void;
  /** Called with the filter under the pointer or keyboard focus (null when it leaves). */
  onFocusChannel?: (channel: number | null) => void;
}

/**
 * One canvas per layer, one cell per filter, coloured by importance; click to tick, shift-click for a
 * range, arrows + space from the keyboard. In sorted order the cells run from the lowest score (the
 * first to cut) to the highest; a shift-click range then spans positions, i.e. a band of scores.
 * The hovered or focused filter's index and score are shown as text beside it, and the whole layer's
 * numbers are mirrored in an aria-label.
 */
export function FilterHeatmap({
  layer,
  criterion,
  scores,
  selected,
  disabled,
  range,
  sorted,
  onToggle,
  onRange,
  onFocusChannel,
}: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  /** Focused position (cell), not filter index. */
  const [focus, setFocus] = useState<number | null>(null);
  const lastPos = useRef<number | null>(null);
  const layout = useMemo(() => layoutHeatmap(scores.length), [scores.length]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);
  const order = useMemo(() => (sorted ? sortedOrder(scores) : null), [sorted, scores]);
  const filterAt = (p: number) => order?.[p] ?? p;
  const focusFilter = focus === null ? null : filterAt(focus);

  useEffect(() => {
    onFocusChannel?.(focusFilter);
  }, [focusFilter, onFocusChannel]);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const px = paintHeatmap(scores, selectedSet, focusFilter, layout, {
      ...(range ? { range } : {}),
      ...(order ? { order } : {}),
    });
    ctx.putImageData(new ImageData(px as Uint8ClampedArray<ArrayBuffer>, layout.width, layout.height), 0, 0);
  }, [scores, selectedSet, focusFilter, layout, range, order]);

  const pick = (e: MouseEvent<HTMLCanvasElement>): number | null => {
    const r = e.currentTarget.getBoundingClientRect();
    return hitTest(layout, scores.length, e.clientX - r.left, e.clientY - r.top, r.width, r.height);
  };

  /** Ticks the filter at position p; a shift range goes from the last position clicked, in this order. */
  const toggleAt = (p: number, shift: boolean) => {
    const anchor = lastPos.current;
    lastPos.current = p;
    if (!shift || anchor === null || !order || !onRange) {
      onToggle(filterAt(p), shift);
      return;
    }
    // Sorted: the range is positions anchor..p, a band of scores; all take the clicked filter's new state.
    const lo = Math.min(anchor, p);
    const hi = Math.max(anchor, p);
    const band = Array.from({ length: hi - lo + 1 }, (_, k) => filterAt(lo + k));
    onRange(band, !selectedSet.has(filterAt(p)));
  };

  const onKey = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const n = scores.length;
    const cur = focus ?? 0;
    const moves: Record<string, number> = {
      ArrowRight: 1,
      ArrowLeft: -1,
      ArrowDown: layout.cols,
      ArrowUp: -layout.cols,
    };
    const move = moves[e.key];
    if (move !== undefined) {
      e.preventDefault();
      setFocus(Math.min(n - 1, Math.max(0, cur + move)));
    } else if ((e.key === ' ' || e.key === 'Enter') && !disabled) {
      e.preventDefault();
      toggleAt(cur, e.shiftKey);
    }
  };

  const [lo, hi] = range ?? scoreRange(scores);
  const cellCss = Math.max(8, Math.min(22, Math.floor(640 / layout.cols)));
  const focusText =
    focusFilter !== null && focusFilter < scores.length
      ? `Filter ${focusFilter}: ${criterion.toUpperCase()} ${scores[focusFilter]!.toPrecision(4)}${selectedSet.has(focusFilter) ? ' (selected)' : ''}${sorted ? `, rank ${focus! + 1} of ${scores.length}` : ''}`
      : 'Hover or focus a filter to see its score.';

  return (
    <div className="heatmap">
      <canvas
        ref={canvas}
        width={layout.width}
        height={layout.height}
        role="img"
        tabIndex={disabled ? -1 : 0}
        aria-label={`${layer} filter importance: ${scores.length} filters, ${criterion.toUpperCase()} from ${lo.toPrecision(3)} to ${hi.toPrecision(3)}, ${selected.length} selected${sorted ? ', sorted by score' : ''}`}
        data-layer={layer}
        data-cols={layout.cols}
        data-rows={layout.rows}
        data-filters={scores.length}
        data-selected={selected.join(',')}
        data-order={order ? order.join(',') : undefined}
        aria-disabled={disabled ? true : undefined}
        style={{ width: layout.cols * cellCss, height: layout.rows * cellCss }}
        className={disabled ? 'disabled' : undefined}
        onMouseMove={(e) => setFocus(pick(e))}
        onMouseLeave={() => setFocus(null)}
        onFocus={() => setFocus((f) => f ?? 0)}
        onClick={(e) => {
          const p = pick(e);
          if (p !== null && !disabled) toggleAt(p, e.shiftKey);
        }}
        onKeyDown={onKey}
      />
      <div className="heatmap-focus" aria-live="polite" data-testid={`focus-${layer}`}>
        {focusText}
      </div>
    </div>
  );
}
