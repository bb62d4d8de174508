import { useWorkbench } from '../../state/store';
import { OpenButtons } from './OpenButtons';

/** Title, the open buttons, the active backend and the privacy promise. */
export function Header() {
  const backend = useWorkbench((s) => s.backend);
  const backendError = useWorkbench((s) => s.backendError);
  const session = useWorkbench((s) => s.session);
  return (
    <header className="header">
      <h1>PruneLab</h1>
      {session && <OpenButtons compact />}
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
