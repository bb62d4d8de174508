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
