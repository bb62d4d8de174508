import { useWorkbench } from '../../state/store';
import { OpenButtons } from './OpenButtons';
import { RecentSessions } from './RecentSessions';

/** Title, the open buttons, the active backend and the privacy promise. */
export function Header() {
  const backend = useWorkbench((s) => s.backend);
  const backendError = useWorkbench((s) => s.backendError);
  const session = useWorkbench((s) => s.session);
  const persist = useWorkbench((s) => s.persist);
  const others = persist.recent.filter((m) => m.uid !== session?.uid).length;
  return (
    <header className="header">
      <h1>PruneLab</h1>
      {session && <OpenButtons compact />}
      {session && (
        <span
          className={`save-state${persist.error ? ' error' : ''}`}
          role={persist.error ? 'alert' : 'status'}
          data-testid="save-state"
          title={persist.error ?? 'Kept in this browser (IndexedDB), never uploaded.'}
        >
          {persist.error
            ? 'Not saved in this browser'
            : persist.pending
              ? 'Saving…'
              : persist.savedAt
                ? 'Saved in this browser'
                : ''}
        </span>
      )}
      {session && others > 0 && (
        <details className="recent-menu">
          <summary>Recent sessions ({others})</summary>
          <RecentSessions />
        </details>
      )}
      <span className="privacy">
        Your model never leaves this tab: no network requests, all computation is local.
      </span>
      <span className="backend" data-testid="backend" title={backend?.reason}>
        {backendError
          ? `Backend error: ${backendError}`
          : backend
            ? `Backend: ${backend.name}`
            : 'Starting TensorFlow.js…'}
      </span>
    </header>
  );
}
