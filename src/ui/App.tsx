import { useEffect, useState, type DragEvent } from 'react';
import { useWorkbench } from '../state/store';
import { cancelOpening, openFiles, openSample, startRuntime } from '../state/actions';
import { filesFromDrop } from './files';
import { installUndoKeys } from './components/UndoRedo';
import { PendingSamplesBar } from './components/RecentSessions';
import { TotalsPanel } from './components/TotalsPanel';
import { HelpOverlay, installShortcuts } from './components/HelpOverlay';
import { setCanvasTab } from '../state/actions';
import { installLeaveGuard, startAutosave } from '../state/persist';
import { Header } from './components/Header';
import { StartPage } from './components/StartPage';
import { Workbench } from './components/Workbench';
import { DropInfo, LoadError, ModelWarnings } from './components/LoadError';

/** The whole page: header, errors, then the start page or the workbench; the page is a drop target. */
export function App() {
  const session = useWorkbench((s) => s.session);
  const loading = useWorkbench((s) => s.loading);
  const [dragging, setDragging] = useState(false);

  useEffect(() => installUndoKeys(), []);
  useEffect(() => installShortcuts(setCanvasTab), []);
  // The header and totals bar wrap on narrow windows: sticky columns below them need their heights.
  useEffect(() => {
    const root = document.documentElement;
    const measure = () => {
      const h = document.querySelector('.header')?.getBoundingClientRect().height ?? 0;
      const t = document.querySelector('.totals-bar')?.getBoundingClientRect().height ?? 0;
      root.style.setProperty('--header-h', `${Math.round(h)}px`);
      root.style.setProperty('--totals-h', `${Math.round(t)}px`);
    };
    const ro = new ResizeObserver(measure);
    const watch = () => {
      ro.disconnect();
      for (const el of document.querySelectorAll('.header, .totals-bar')) ro.observe(el);
      measure();
    };
    watch();
    const mo = new MutationObserver(watch);
    mo.observe(document.querySelector('.app') ?? document.body, { childList: true });
    return () => {
      ro.disconnect();
      mo.disconnect();
    };
  }, []);
  useEffect(() => startAutosave(), []);
  useEffect(() => installLeaveGuard(), []);

  useEffect(() => {
    void startRuntime().then(() => {
      if (new URLSearchParams(location.search).has('sample')) void openSample();
    });
  }, []);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    void filesFromDrop(e.dataTransfer).then((files) => openFiles(files));
  };

  return (
    <div
      className={`app${dragging ? ' dragging' : ''}`}
      data-testid="drop-target"
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <a className="skip-link" href="#filters">
        Skip to the heatmaps
      </a>
      <Header />
      {session && <TotalsPanel />}
      <main>
        <LoadError />
        <ModelWarnings />
        <DropInfo />
        <PendingSamplesBar />
        {loading && (
          <p role="status" className="loading">
            {loading}…{' '}
            <button type="button" className="cancel-open" aria-label="Cancel opening" onClick={cancelOpening}>
              Cancel
            </button>
          </p>
        )}
        {session ? <Workbench /> : <StartPage />}
      </main>
      <HelpOverlay />
      {dragging && (
        <div className="drop-overlay">Drop model.json with its weight files, a folder or a zip</div>
      )}
    </div>
  );
}
