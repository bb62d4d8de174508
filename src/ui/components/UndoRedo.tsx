import { redoPlan, undoPlan, undoRedoLabels } from '../../state/plan-slice';
import { useWorkbench } from '../../state/store';
import { useShallow } from 'zustand/react/shallow';

const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
const MOD = MAC ? '⌘' : 'Ctrl+';

/** Undo and redo buttons whose tooltips name the step they undo or redo. */
export function UndoRedo() {
  const { undo, redo } = useWorkbench(useShallow(undoRedoLabels));
  const locked = useWorkbench((s) => s.planLock);
  return (
    <div className="undo-redo" role="group" aria-label="Undo and redo">
      <button
        type="button"
        disabled={undo === null || locked !== null}
        title={locked ?? (undo ? `Undo ${undo} (${MOD}Z)` : 'Nothing to undo')}
        aria-label={undo ? `Undo ${undo}` : 'Undo'}
        onClick={() => undoPlan()}
      >
        ↶ Undo
      </button>
      <button
        type="button"
        disabled={redo === null || locked !== null}
        title={locked ?? (redo ? `Redo ${redo} (${MOD}Shift+Z)` : 'Nothing to redo')}
        aria-label={redo ? `Redo ${redo}` : 'Redo'}
        onClick={() => redoPlan()}
      >
        ↷ Redo
      </button>
    </div>
  );
}

/** True when a key event belongs to a text field, where Ctrl+Z edits the text instead. */
function inTextField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return (
    target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'range'].includes(target.type)
  );
}

/** Ctrl+Z / Cmd+Z undo; Ctrl+Shift+Z, Cmd+Shift+Z and Ctrl+Y redo (outside text fields). Returns the remover. */
export function installUndoKeys(): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || inTextField(e.target)) return;
    const key = e.key.toLowerCase();
    if (key === 'z' && !e.shiftKey) {
      e.preventDefault();
      undoPlan();
    } else if ((key === 'z' && e.shiftKey) || (key === 'y' && !e.shiftKey)) {
      e.preventDefault();
      redoPlan();
    }
  };
  window.addEventListener('keydown', onKey);
  return () => window.removeEventListener('keydown', onKey);
}
