import { memo, useCallback, useState } from 'react';
import type { ChannelGroup } from '../../core/graph/types';
import {
  clearSelection,
  selectLowestFraction,
  setFocusChannel,
  setFocusLayer,
  toggleFilter,
} from '../../state/actions';
import { CouplingDetails } from './CouplingDetails';
import { useWorkbench } from '../../state/store';
import { FilterHeatmap } from './FilterHeatmap';

const EMPTY: number[] = [];

function memberText(g: ChannelGroup): string {
  const parts = g.members
    .filter((m) => m.role !== 'producer' || m.layer !== g.producer)
    .map((m) =>
      m.role === 'consumer'
        ? m.spatial && m.spatial > 1
          ? `${m.layer} (input rows, ${m.spatial} per filter)`
          : `${m.layer} (input channels)`
        : m.role === 'producer'
          ? `${m.layer} (filters, coupled)`
          : `${m.layer}`,
    );
  return parts.length ? parts.join(', ') : 'nothing else';
}

const LayerCard = memo(function LayerCard({ group }: { group: ChannelGroup }) {
  const scores = useWorkbench((s) => s.scores[group.producer]) ?? EMPTY;
  const selected = useWorkbench((s) => s.plan.remove[group.producer]) ?? EMPTY;
  const criterion = useWorkbench((s) => s.criterion);
  const locked = useWorkbench((s) => s.planLock !== null);
  const focused = useWorkbench((s) => s.focusLayer === group.producer);
  const focusChannel = useWorkbench((s) =>
    s.focusChannel?.layer === group.producer ? s.focusChannel.channel : null,
  );
  const [percent, setPercent] = useState(50);
  const name = group.producer;
  // The details stay on the last filter pointed at, so the layout below does not jump when the pointer leaves.
  const onFocusChannel = useCallback((c: number | null) => c !== null && setFocusChannel(name, c), [name]);
  return (
    <article
      className={`layer-card${focused ? ' focused' : ''}${group.prunable ? '' : ' unprunable'}`}
      id={`layer-${name}`}
      aria-label={`Layer ${name}`}
      onFocus={() => setFocusLayer(name)}
    >
      <header>
        <h3>{name}</h3>
        <span className="size">{group.size} filters</span>
        {group.producers.length > 1 && (
          <span className="coupled-badge" data-testid={`producers-${name}`}>
            coupled group of {group.producers.length} producers: {group.producers.join(', ')}
          </span>
        )}
      </header>
      <p className="coupling" data-testid={`coupling-${name}`}>
        Shrinks with it: {memberText(group)}
      </p>
      {group.prunable ? (
        <>
          <FilterHeatmap
            layer={name}
            criterion={criterion}
            scores={scores}
            selected={selected}
            disabled={locked}
            onToggle={(c, range) => toggleFilter(name, c, range)}
            onFocusChannel={onFocusChannel}
          />
          {focusChannel !== null && <CouplingDetails group={group} channel={focusChannel} />}
          {group.caveats?.map((c) => (
            <p key={c} className="caveat">
              {c}
            </p>
          ))}
          <div className="card-tools">
            <label>
              Lowest{' '}
              <input
                type="number"
                min={0}
                max={99}
                value={percent}
                aria-label={`Percent of ${name} filters to select`}
                onChange={(e) => setPercent(Number(e.target.value))}
              />
              %
            </label>
            <button type="button" onClick={() => selectLowestFraction(percent / 100, name)}>
              Select lowest {percent}% of {name}
            </button>
            <button type="button" onClick={() => clearSelection(name)} aria-label={`Clear ${name}`}>
              Clear
            </button>
            <span className="status" data-testid={`status-${name}`}>
              {selected.length} of {group.size} selected in {name}
            </span>
          </div>
        </>
      ) : (
        <p className="reason" data-testid={`reason-${name}`}>
          Not prunable: {(group.reason ?? 'unsupported').replace(/\.?$/, '.')}
        </p>
      )}
    </article>
  );
});

/** One card per producer layer: its heatmap, coupling, and per-layer selection tools. */
export function LayerCards() {
  const groups = useWorkbench((s) => s.session?.graph.groups) ?? [];
  return (
    <section className="cards" aria-label="Filters">
      <h2>Filters by importance</h2>
      <p className="hint">
        Darker = more important. Click to tick a filter for removal (red core), shift-click for a range, or
        use the arrow keys and space.
      </p>
      {groups.map((g) => (
        <LayerCard key={g.id} group={g} />
      ))}
    </section>
  );
}
