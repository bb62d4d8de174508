import { useCallback } from 'react';
import { ModelGraph } from './graph/ModelGraph';

/**
 * The graph view of the layer list: the model graph in a frame of its own height. Selecting a node
 * focuses its group and scrolls that group's heatmap card into view when the card is on the page.
 */
export function GraphView() {
  const scrollToCard = useCallback((producer: string | null) => {
    if (producer) document.getElementById(`layer-${producer}`)?.scrollIntoView({ block: 'nearest' });
  }, []);
  return (
    <div className="graph-view-frame" data-testid="graph-view">
      <ModelGraph onReveal={scrollToCard} />
    </div>
  );
}
