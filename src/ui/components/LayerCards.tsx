import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { ChannelGroup } from '../../core/graph/types';
import {
  clearSelection,
  selectBelow,
  selectLowestFraction,
  setFilters,
  setFocusChannel,
  setFocusLayer,
  toggleFilter,
} from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { FilterHeatmap } from './FilterHeatmap';
import { ScoreHistogram } from './ScoreHistogram';
import { scoreRange, importanceGradientCss } from '../painters/heatmap';

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

const LayerCard = memo(function LayerCard({
  group,
  range,
}: {
  group: ChannelGroup;
  range: readonly [number, number] | undefined;
}) {
  const scores = useWorkbench((s) => s.scores[group.producer]) ?? EMPTY;
  const selected = useWorkbench((s) => s.plan.remove[group.producer]) ?? EMPTY;
  const criterion = useWorkbench((s) => s.criterion);
  const locked = useWorkbench((s) => s.planLock !== null);
  const focused = useWorkbench((s) => s.focusLayer === group.producer);
  const sorted = useWorkbench((s) => s.heatmap.order === 'score');
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
            sorted={sorted}
            {...(range ? { range } : {})}
            onToggle={(c, shift) => toggleFilter(name, c, shift)}
            onRange={(cs, select) => setFilters(name, cs, select)}
            onFocusChannel={onFocusChannel}
          />
          <ScoreHistogram
            layer={name}
            scores={scores}
            disabled={locked}
            onApply={(t) => selectBelow(name, t)}
          />
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
                aria-invalid={!(percent >= 0 && percent <= 99)}
                onChange={(e) => setPercent(Number(e.target.value))}
              />
              %
            </label>
            <button
              type="button"
              disabled={locked || !(percent >= 0 && percent <= 99)}
              title={percent >= 0 && percent <= 99 ? undefined : 'Choose 0 to 99%.'}
              onClick={() => selectLowestFraction(percent / 100, name)}
            >
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

const NO_GROUPS: ChannelGroup[] = [];

/** Cards are virtualised past this many groups: only the visible heatmaps exist and are painted. */
const VIRTUAL_FROM = 40;

/** The colour legend: the scale and the score range it spans. */
function Legend({ range, criterion }: { range: readonly [number, number] | undefined; criterion: string }) {
  return (
    <div className="legend" aria-label="Colour scale" role="group">
      <span>{range ? range[0].toPrecision(3) : 'lowest'}</span>
      <span className="legend-bar" style={{ background: importanceGradientCss() }} />
      <span>{range ? range[1].toPrecision(3) : 'highest'}</span>
      <span className="hint">
        {criterion.toUpperCase()}{' '}
        {range ? '(one scale for all layers)' : '(each layer from its own lowest to highest)'}; ticked filters
        are crossed out.
      </span>
    </div>
  );
}

/** One card per producer layer: its heatmap, histogram, coupling, and per-layer selection tools. */
export function LayerCards() {
  const groups = useWorkbench((s) => s.session?.graph.groups ?? NO_GROUPS);
  const scores = useWorkbench((s) => s.scores);
  const criterion = useWorkbench((s) => s.criterion);
  const scale = useWorkbench((s) => s.heatmap.scale);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  const range = useMemo((): readonly [number, number] | undefined => {
    if (scale !== 'global') return undefined;
    return scoreRange(Object.values(scores).flat());
  }, [scale, scores]);
  const parent = useRef<HTMLDivElement>(null);
  const virtual = groups.length >= VIRTUAL_FROM;
  // The virtualizer is read on every render (it is not memoised by design).
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: virtual ? groups.length : 0,
    getScrollElement: () => parent.current,
    estimateSize: () => 190,
    overscan: 4,
  });
  // Jump to the focused group (navigator, graph, table): scroll its card into view.
  useEffect(() => {
    if (!focusLayer) return;
    const i = groups.findIndex((g) => g.producer === focusLayer || g.producers.includes(focusLayer));
    if (i < 0) return;
    if (virtual) virtualizer.scrollToIndex(i, { align: 'start' });
    else document.getElementById(`layer-${groups[i]!.producer}`)?.scrollIntoView({ block: 'nearest' });
  }, [focusLayer, groups, virtual, virtualizer]);
  return (
    <section className="cards" aria-label="Filters" id="filters">
      <Legend range={range} criterion={criterion} />
      {virtual ? (
        <div className="cards-scroll" ref={parent} data-testid="cards-virtual">
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((item) => (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                style={{
                  position: 'absolute',
                  top: 0,
                  left: 0,
                  right: 0,
                  transform: `translateY(${item.start}px)`,
                }}
              >
                <LayerCard group={groups[item.index]!} range={range} />
              </div>
            ))}
          </div>
        </div>
      ) : (
        groups.map((g) => <LayerCard key={g.id} group={g} range={range} />)
      )}
    </section>
  );
}
