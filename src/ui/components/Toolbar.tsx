import { useState } from 'react';
import { clearSelection, selectLowestFraction, setHeatmapView } from '../../state/actions';
import { countSelected } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
import { ScoringControls } from './ScoringControls';

/** Criterion choice, "select the lowest k% in all layers", clear, and the selection status line. */
export function Toolbar() {
  const plan = useWorkbench((s) => s.plan);
  const graph = useWorkbench((s) => s.session?.graph);
  const notice = useWorkbench((s) => s.notice);
  const locked = useWorkbench((s) => s.planLock);
  const heatmap = useWorkbench((s) => s.heatmap);
  const [percent, setPercent] = useState(50);
  const percentValid = Number.isFinite(percent) && percent >= 0 && percent <= 99;
  const { total, layers } = countSelected(plan);
  const prunable = graph?.groups.filter((g) => g.prunable) ?? [];
  const totalFilters = prunable.reduce((n, g) => n + g.size, 0);
  return (
    <section className="toolbar" aria-label="Selection tools">
      <ScoringControls />
      <div className="row view-options">
        <label>
          Colours{' '}
          <select
            aria-label="Heatmap colour scale"
            value={heatmap.scale}
            onChange={(e) => setHeatmapView({ scale: e.currentTarget.value as 'layer' | 'global' })}
          >
            <option value="layer">per layer (lowest to highest of each)</option>
            <option value="global">one scale for all layers</option>
          </select>
        </label>
        <label>
          Order{' '}
          <select
            aria-label="Heatmap order"
            value={heatmap.order}
            onChange={(e) => setHeatmapView({ order: e.currentTarget.value as 'index' | 'score' })}
          >
            <option value="index">by filter index</option>
            <option value="score">by score, lowest first</option>
          </select>
        </label>
      </div>
      <label>
        Lowest{' '}
        <input
          type="number"
          min={0}
          max={99}
          value={percent}
          disabled={locked !== null}
          aria-label="Percent of filters to select in all layers"
          aria-invalid={!percentValid}
          aria-describedby={percentValid ? undefined : 'percent-error'}
          onChange={(e) => setPercent(Number(e.target.value))}
        />
        %
      </label>
      {!percentValid && (
        <span id="percent-error" className="field-error" role="alert">
          Choose 0 to 99%: a layer must keep at least one filter.
        </span>
      )}
      <button
        type="button"
        disabled={locked !== null || !percentValid}
        onClick={() => selectLowestFraction(percent / 100)}
      >
        Select lowest {percent}% in all layers
      </button>
      <button type="button" disabled={locked !== null} onClick={() => clearSelection()}>
        Clear all
      </button>
      <p className="status" role="status" data-testid="selection-status">
        {total} of {totalFilters} filters selected overall, in {layers} of {prunable.length} prunable layers
      </p>
      {locked && (
        <p className="notice locked" role="status" data-testid="plan-lock">
          🔒 {locked}
        </p>
      )}
      {notice && notice !== locked && (
        <p className="notice" role="alert">
          {notice}
        </p>
      )}
    </section>
  );
}
