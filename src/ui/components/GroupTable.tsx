import { revealLayer } from '../../state/actions';
import { useWorkbench } from '../../state/store';

/** One row per group of coupled channels: its size, producers, every layer it touches, and prunability. */
export function GroupTable() {
  const session = useWorkbench((s) => s.session);
  const plan = useWorkbench((s) => s.plan);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  if (!session) return null;
  return (
    <table className="group-table">
      <thead>
        <tr>
          <th scope="col">Group</th>
          <th scope="col">Channels</th>
          <th scope="col">Producers</th>
          <th scope="col">Layers that shrink with it</th>
          <th scope="col">Prunable</th>
          <th scope="col">Selected</th>
        </tr>
      </thead>
      <tbody>
        {session.graph.groups.map((g) => (
          <tr
            key={g.id}
            data-group={g.id}
            className={g.producers.includes(focusLayer ?? '') ? 'coupled' : undefined}
          >
            <td>
              <a
                href={`#layer-${g.producer}`}
                onClick={() => revealLayer(g.producer)}
                aria-label={`Group ${g.id}: ${g.producer}`}
              >
                #{g.id} {g.producer}
              </a>
            </td>
            <td>{g.size}</td>
            <td>{g.producers.join(', ')}</td>
            <td className="members">{[...new Set(g.members.map((m) => m.layer))].join(' · ')}</td>
            <td>{g.prunable ? 'yes' : `no: ${g.reason ?? ''}`}</td>
            <td>{plan.remove[g.producer]?.length ?? 0}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
