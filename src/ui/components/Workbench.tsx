import { Navigator } from './Navigator';
import { CanvasTabs } from './CanvasTabs';
import { Inspector } from './Inspector';
import { HistoryPanel } from './HistoryPanel';
import { PreviewPanel } from './PreviewPanel';
import { ExportPanel } from './ExportPanel';
import { DownloadHolds } from './DownloadHolds';
import { useWorkbench } from '../../state/store';

/**
 * The workbench for an open model, an app shell in the manner of Figma or VS Code: a navigator of
 * layers and groups on the left, one wide view in the centre, the inspector, history, preview and
 * downloads on the right. Below 1100 px the right column goes under the centre; below 820 px the
 * navigator goes above it, so nothing scrolls sideways.
 */
export function Workbench() {
  const session = useWorkbench((s) => s.session);
  if (!session) return null;
  return (
    <div className="shell">
      <Navigator />
      <CanvasTabs />
      <aside className="side" aria-label="Inspector, history and downloads">
        <Inspector />
        <HistoryPanel />
        <PreviewPanel />
        <div className="download-column">
          <DownloadHolds />
          <ExportPanel />
        </div>
      </aside>
    </div>
  );
}
