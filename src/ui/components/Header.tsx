import { setHelpOpen } from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { OpenButtons } from './OpenButtons';
import { RecentSessions } from './RecentSessions';
import { UndoRedo } from './UndoRedo';

/** The top bar: the open model's name, undo/redo, saving, recent sessions, open buttons, backend, help. */
export function Header() {
  const backend = useWorkbench((s) => s.backend);
  const backendError = useWorkbench((s) => s.backendError);
  const session = useWorkbench((s) => s.session);
  const persist = useWorkbench((s) => s.persist);
  const others = persist.recent.filter((m) => m.uid !== session?.uid).length;
  const files = session?.files ?? [];
  return (
    <header className="header">
      <h1>PruneLab</h1>
      {session && (
        <span className="file-name" data-testid="model-name" title={files.join('\n')}>
          <strong>{session.name}</strong>
          <span className="file-meta">
            {files.length === 1 ? files[0] : `${files.length} files`} · {session.ir.kind} ·{' '}
            {session.ir.layers.length} layers
          </span>
        </span>
      )}
      {session && <UndoRedo />}
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
      <span className="spacer" />
      {session && others > 0 && (
        <details className="recent-menu">
          <summary>Recent sessions ({others})</summary>
          <RecentSessions />
        </details>
      )}
      {session && <OpenButtons compact />}
      <span
        className="backend"
        data-testid="backend"
        title={`${backend?.reason ?? ''} Your model never leaves this tab: no network requests, all computation is local.`}
      >
        {backendError
          ? `Backend error: ${backendError}`
          : backend
            ? `Backend: ${backend.name}`
            : 'Starting TensorFlow.js…'}
      </span>
      <span className="privacy" title="No network requests: every computation runs in this tab.">
        Local only
      </span>
      <button
        type="button"
        className="help-button"
        aria-label="Keyboard shortcuts"
        onClick={() => setHelpOpen(true)}
      >
        ?
      </button>
    </header>
  );
}
