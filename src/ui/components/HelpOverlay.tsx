import { useEffect, useRef } from 'react';
import { setHelpOpen } from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { TABS } from './CanvasTabs';

const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
const MOD = MAC ? '⌘' : 'Ctrl';

/** Every keyboard shortcut, opened with `?` and closed with Escape. */
export function HelpOverlay() {
  const open = useWorkbench((s) => s.helpOpen);
  const dialog = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (open) dialog.current?.focus();
  }, [open]);
  if (!open) return null;
  const rows: [string, string][] = [
    [`${MOD}+Z`, 'Undo the last change of the plan'],
    [`${MOD}+Shift+Z, Ctrl+Y`, 'Redo'],
    ['/', 'Search layers in the navigator'],
    ['Arrow keys, Space', 'Move between filters of a focused heatmap, tick or untick'],
    ['Shift+Space, Shift+click', 'Tick a range of filters'],
    [
      'Alt+1 … Alt+0',
      TABS.filter((t) => t.key)
        .map((t) => `${t.key} ${t.label}`)
        .join(', '),
    ],
    ['Arrow keys on the tabs', 'Previous or next view'],
    ['?', 'This help'],
    ['Escape', 'Close this help'],
  ];
  return (
    <div className="overlay" onClick={() => setHelpOpen(false)}>
      <div
        ref={dialog}
        role="dialog"
        aria-modal="true"
        aria-label="Keyboard shortcuts"
        tabIndex={-1}
        className="dialog"
        onClick={(e) => e.stopPropagation()}
      >
        <h2>Keyboard shortcuts</h2>
        <table>
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">
                  <kbd>{k}</kbd>
                </th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => setHelpOpen(false)}>
          Close
        </button>
      </div>
    </div>
  );
}

function typing(t: EventTarget | null): boolean {
  return (
    t instanceof HTMLElement &&
    (t.isContentEditable ||
      t instanceof HTMLTextAreaElement ||
      t instanceof HTMLSelectElement ||
      (t instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'range'].includes(t.type)))
  );
}

/** `?` help, Escape closes it, `/` focuses the search, Alt+digit switches views. Returns the remover. */
export function installShortcuts(setTab: (id: (typeof TABS)[number]['id']) => void): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && useWorkbench.getState().helpOpen) {
      setHelpOpen(false);
      return;
    }
    if (typing(e.target) || e.ctrlKey || e.metaKey) return;
    if (e.key === '?') {
      e.preventDefault();
      setHelpOpen(!useWorkbench.getState().helpOpen);
    } else if (e.key === '/' && !e.altKey) {
      const search = document.getElementById('layer-search');
      if (search) {
        e.preventDefault();
        search.focus();
      }
    } else if (e.altKey && /^Digit\d$/.test(e.code)) {
      const tab = TABS.find((t) => t.key === e.code.slice(5));
      if (tab && useWorkbench.getState().session) {
        e.preventDefault();
        setTab(tab.id);
      }
    }
  };
  window.addEventListener('keydown', onKey);
  return () => window.removeEventListener('keydown', onKey);
}
