import { useState } from 'react';
import { clearSelection, selectLowestFraction } from '../../state/actions';
import { countSelected } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
import { ScoringControls } from './ScoringControls';
import { UndoRedo } from './UndoRedo';

/** Criterion choice, "select the lowest k% in all layers", clear, and the selection status line. */
export function Toolbar() {
  const plan = useWorkbench((s) => s.plan);
  const graph = useWorkbench((s) => s.session?.graph);
  const notice = useWorkbench((s) => s.notice);
  const locked = useWorkbench((s) => s.planLock);
  const [percent, setPercent] = useState(50);
  const { total, layers } = countSelected(plan);
  const prunable = graph?.groups.filter((g) => g.prunable) ?? [];
  const totalFilters = prunable.reduce((n, g) => n + g.size, 0);
  return (
    <section className="toolbar" aria-label="Selection tools">
      <UndoRedo />
      <ScoringControls />
      <label>
        Lowest{' '}
        <input
          type="number"
          min={0}
          max={99}
          value={percent}
          disabled={locked !== null}
          aria-label="Percent of filters to select in all layers"
          onChange={(e) => setPercent(Number(e.target.value))}
        />
        %
      </label>
      <button
        type="button"
        disabled={locked !== null || !(percent >= 0 && percent <= 99)}
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
