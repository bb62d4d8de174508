import { useWorkbench } from '../../state/store';

/** The last load error, naming the file or layer at fault; the open model is untouched. */
export function LoadError() {
  const err = useWorkbench((s) => s.loadError);
  const session = useWorkbench((s) => s.session);
  if (!err) return null;
  return (
    <div role="alert" className="error" data-code={err.code}>
      <strong>Could not open {err.files.length ? err.files.join(', ') : 'the files'}.</strong> {err.message}
      {session && <span className="keep"> The model already open ({session.name}) is unchanged.</span>}
      <button
        type="button"
        aria-label="Dismiss error"
        onClick={() => useWorkbench.setState({ loadError: null })}
      >
        ×
      </button>
    </div>
  );
}

/** What the loader warned about for the open model (NaN/Inf weights by layer, layers tfjs cannot build). */
export function ModelWarnings() {
  const session = useWorkbench((s) => s.session);
  const warnings = session?.warnings ?? [];
  if (warnings.length === 0) return null;
  return (
    <div role="status" className="warning" data-testid="model-warnings">
      <strong>
        {session!.name} opened with {warnings.length === 1 ? 'a warning' : `${warnings.length} warnings`}:
      </strong>
      <ul>
        {warnings.slice(0, 8).map((w) => (
          <li key={w}>{w}</li>
        ))}
        {warnings.length > 8 && <li>… and {warnings.length - 8} more</li>}
      </ul>
    </div>
  );
}

/** What the last drop was taken as (model, sample set, plan), until the next one. */
export function DropInfo() {
  const info = useWorkbench((s) => s.dropInfo);
  if (!info) return null;
  return (
    <p role="status" className="drop-info" data-testid="drop-info">
      {info}{' '}
      <button type="button" className="link" onClick={() => useWorkbench.setState({ dropInfo: null })}>
        Dismiss
      </button>
    </p>
  );
}
