import { useMemo } from 'react';
import { computedScores, labelOf } from '../../state/analysis-actions';
import { useWorkbench } from '../../state/store';
import { formatShape } from '../format';
import { CouplingDetails } from './CouplingDetails';

/**
 * The right inspector: the group under the pointer or selected (its producers, every layer that
 * shrinks with it and their shapes, why it is frozen), and the filter under the pointer (its score
 * under every criterion computed so far, and the exact channels that go with it).
 */
export function Inspector() {
  const session = useWorkbench((s) => s.session);
  const focusLayer = useWorkbench((s) => s.focusLayer);
  const focusChannel = useWorkbench((s) => s.focusChannel);
  const ticked = useWorkbench((s) => (focusLayer ? (s.plan.remove[focusLayer]?.length ?? 0) : 0));
  const scoresVersion = useWorkbench((s) => s.scores);
  const group = useMemo(() => {
    if (!session || !focusLayer) return undefined;
    const gid = session.graph.groupByProducer[focusLayer] ?? session.graph.groupsByLayer[focusLayer]?.[0];
    return gid === undefined ? undefined : session.graph.groups[gid];
  }, [session, focusLayer]);
  const channel =
    focusChannel && group && focusChannel.layer === group.producer ? focusChannel.channel : null;
  const perCriterion = useMemo(
    () => (group && channel !== null ? computedScores(group.producer) : []),
    // scoresVersion: a newly computed criterion shows up here too.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [group, channel, scoresVersion],
  );
  if (!session) return null;
  if (!group) {
    return (
      <section className="panel inspector" aria-label="Inspector">
        <h2>Inspector</h2>
        <p className="hint">Point at a filter or choose a layer in the navigator to see what goes with it.</p>
      </section>
    );
  }
  const byName = new Map(session.ir.layers.map((l) => [l.name, l]));
  const layers = [...new Set(group.members.map((m) => m.layer))];
  return (
    <section className="panel inspector" aria-label="Inspector">
      <h2>
        {group.producer} <span className="hint">group #{group.id}</span>
      </h2>
      <p data-testid="inspector-summary">
        {byName.get(group.producer)?.className} · {group.size} channels · {ticked} ticked
        {group.producers.length > 1 ? ` · ${group.producers.length} producers coupled` : ''}
      </p>
      {!group.prunable && <p className="reason">Frozen: {group.reason ?? 'not prunable'}</p>}
      {channel !== null && (
        <>
          <h3>Filter {channel}</h3>
          {perCriterion.length > 0 && (
            <table aria-label={`Scores of filter ${channel}`}>
              <tbody>
                {perCriterion.map(({ criterion, scores }) => {
                  const v = scores[channel] ?? NaN;
                  const rank = Array.from(scores).filter((x) => x < v).length + 1;
                  return (
                    <tr key={criterion}>
                      <th scope="row">{labelOf(criterion)}</th>
                      <td>{v.toPrecision(4)}</td>
                      <td className="hint">
                        rank {rank} of {scores.length}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <CouplingDetails group={group} channel={channel} />
        </>
      )}
      <h3>Layers that shrink with it</h3>
      <div className="table-scroll">
        <table aria-label="Coupled layers">
          <tbody>
            {layers.map((name) => {
              const l = byName.get(name);
              const roles = [...new Set(group.members.filter((m) => m.layer === name).map((m) => m.role))];
              return (
                <tr key={name}>
                  <th scope="row">
                    {name}
                    <span className="inspector-sub">
                      {l?.className} · {roles.join(', ')}
                    </span>
                  </th>
                  <td>{l ? formatShape(l.outputShape) : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
