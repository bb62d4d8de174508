import { memberIndices } from '../../core/graph/build-graph';
import { unitWord } from '../../core/graph/layer-rules';
import type { ChannelGroup, GroupMember } from '../../core/graph/types';

function axisName(m: GroupMember): string {
  if (m.role === 'producer') return unitWord(m.className, 1) === 'unit' ? 'unit' : 'filter';
  if (m.role === 'consumer') return (m.spatial ?? 1) > 1 ? 'input rows' : 'input channel';
  return 'channel';
}

function listIndices(ix: number[], max = 6): string {
  return ix.length <= max ? ix.join(', ') : `${ix.slice(0, max).join(', ')}, … (${ix.length} in all)`;
}

/**
 * Spells out what one filter drags along: for each layer of its group, the exact indices that go
 * (BatchNorm entries, the other producers' filters, the consumers' input channels or Flatten rows).
 */
export function CouplingDetails({ group, channel }: { group: ChannelGroup; channel: number }) {
  return (
    <ul
      className="coupling-details"
      aria-label={`Channels removed with filter ${channel} of ${group.producer}`}
    >
      {group.members.map((m, i) => (
        <li key={`${m.layer}-${m.role}-${i}`} data-layer={m.layer} data-role={m.role}>
          <strong>{m.layer}</strong> {axisName(m)} {listIndices(memberIndices(group, m, [channel]))}
        </li>
      ))}
    </ul>
  );
}
