import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { hitTest, layoutHeatmap, paintHeatmap } from '../painters/heatmap';

interface Props {
  layer: string;
  criterion: string;
  scores: readonly number[];
  selected: readonly number[];
  disabled?: boolean;
  onToggle: (channel: number, range: boolean) => void;
  /** Called with the filter under the pointer or keyboard focus (null when it leaves). */
  onFocusChannel?: (channel: number | null) => void;
}

/**
 * One canvas per layer, one cell per filter, coloured by importance; click to tick, shift-click for a
 * range, arrows + space from the keyboard. The hovered or focused filter's index and score are shown
 * as text beside it, and the whole layer's numbers are mirrored in an aria-label.
 */
export function FilterHeatmap({
  layer,
  criterion,
  scores,
  selected,
  disabled,
  onToggle,
  onFocusChannel,
}: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [focus, setFocus] = useState<number | null>(null);
  const layout = useMemo(() => layoutHeatmap(scores.length), [scores.length]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);

  useEffect(() => {
    onFocusChannel?.(focus);
  }, [focus, onFocusChannel]);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const px = paintHeatmap(scores, selectedSet, focus, layout);
    ctx.putImageData(new ImageData(px as Uint8ClampedArray<ArrayBuffer>, layout.width, layout.height), 0, 0);
  }, [scores, selectedSet, focus, layout]);

  const pick = (e: MouseEvent<HTMLCanvasElement>): number | null => {
    const r = e.currentTarget.getBoundingClientRect();
    return hitTest(layout, scores.length, e.clientX - r.left, e.clientY - r.top, r.width, r.height);
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
      onToggle(cur, e.shiftKey);
    }
  };

  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) {
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  const cellCss = Math.max(6, Math.min(22, Math.floor(640 / layout.cols)));
  const focusText =
    focus !== null && focus < scores.length
      ? `Filter ${focus}: ${criterion.toUpperCase()} ${scores[focus]!.toPrecision(4)}${selectedSet.has(focus) ? ' (selected)' : ''}`
      : 'Hover or focus a filter to see its score.';

  return (
    <div className="heatmap">
      <canvas
        ref={canvas}
        width={layout.width}
        height={layout.height}
        role="img"
        tabIndex={disabled ? -1 : 0}
        aria-label={`${layer} filter importance: ${scores.length} filters, ${criterion.toUpperCase()} from ${lo.toPrecision(3)} to ${hi.toPrecision(3)}, ${selected.length} selected`}
        data-layer={layer}
        data-cols={layout.cols}
        data-rows={layout.rows}
        data-filters={scores.length}
        data-selected={selected.join(',')}
        aria-disabled={disabled ? true : undefined}
        style={{ width: layout.cols * cellCss, height: layout.rows * cellCss }}
        className={disabled ? 'disabled' : undefined}
        onMouseMove={(e) => setFocus(pick(e))}
        onMouseLeave={() => setFocus(null)}
        onFocus={() => setFocus((f) => f ?? 0)}
        onClick={(e) => {
          const i = pick(e);
          if (i !== null && !disabled) onToggle(i, e.shiftKey);
        }}
        onKeyDown={onKey}
      />
      <div className="heatmap-focus" aria-live="polite" data-testid={`focus-${layer}`}>
        {focusText}
      </div>
    </div>
  );
}
