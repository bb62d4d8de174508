import { acceptPendingSamples, dismissPendingSamples, openSavedSession } from '../../state/actions';
import { deleteSession, refreshRecentSessions } from '../../state/persist';
import { useWorkbench } from '../../state/store';
import { formatBytes } from '../format';

function when(at: number): string {
  const d = new Date(at);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? `today at ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
    : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * Sessions kept in this browser, newest first: restore one (model, samples, history, results and
 * recovered weights) or forget it. On the start page the newest is offered first.
 */
export function RecentSessions({ offerLast = false }: { offerLast?: boolean }) {
  const recent = useWorkbench((s) => s.persist.recent);
  const openUid = useWorkbench((s) => s.session?.uid);
  const others = recent.filter((m) => m.uid !== openUid);
  if (others.length === 0) return null;
  const [last, ...rest] = others;
  const row = (m: (typeof others)[number]) => (
    <li key={m.uid}>
      <button type="button" onClick={() => void openSavedSession(m.uid)} aria-label={`Restore ${m.name}`}>
        Restore
      </button>{' '}
      <strong>{m.name}</strong>{' '}
      <span className="hint">
        {when(m.savedAt)} · {m.steps} step{m.steps === 1 ? '' : 's'} (“{m.current}”)
        {m.sampleName ? ` · samples ${m.sampleName}` : ''} · {formatBytes(m.bytes)}
      </span>{' '}
      <button
        type="button"
        className="link"
        aria-label={`Forget ${m.name}`}
        onClick={() => void deleteSession(m.uid).then(refreshRecentSessions)}
      >
        Forget
      </button>
    </li>
  );
  return (
    <section className="recent" aria-label="Recent sessions">
      {offerLast && last && (
        <p className="restore-offer" role="status" data-testid="restore-offer">
          Pick up where you left off: <strong>{last.name}</strong>, saved {when(last.savedAt)}, with{' '}
          {last.steps} step{last.steps === 1 ? '' : 's'} of history.{' '}
          <button type="button" onClick={() => void openSavedSession(last.uid)}>
            Restore last session
          </button>
        </p>
      )}
      <h3>Recent sessions</h3>
      <ul>{(offerLast ? rest : others).map(row)}</ul>
      {offerLast && rest.length === 0 && <p className="hint">No other sessions kept.</p>}
    </section>
  );
}

/** "Use these images as the sample set?" when images are dropped on an open model. */
export function PendingSamplesBar() {
  const pending = useWorkbench((s) => s.pendingSamples);
  if (!pending) return null;
  return (
    <div className="pending-samples" role="alertdialog" aria-label="Use the dropped images as samples?">
      <span>
        Use {pending.count} dropped file{pending.count === 1 ? '' : 's'} (<strong>{pending.label}</strong>) as
        the sample set for the open model?
      </span>{' '}
      <AcceptButtons />
    </div>
  );
}

function AcceptButtons() {
  return (
    <>
      <button type="button" onClick={() => void acceptPendingSamples()}>
        Use as sample set
      </button>{' '}
      <button type="button" onClick={dismissPendingSamples}>
        Cancel
      </button>
    </>
  );
}
