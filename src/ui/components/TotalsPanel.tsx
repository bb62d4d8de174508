import { useTotals } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
import { chosenKind, openedBytes, useExportSizes } from '../../state/export-actions';
import { useMeasuredExportSizes } from './ExportPanel';
import { formatBytes, formatCount, formatPercent } from '../format';

function Row({
  label,
  before,
  after,
  fmt,
}: {
  label: string;
  before: number;
  after: number;
  fmt: (n: number) => string;
}) {
  const drop = before > 0 ? 1 - after / before : 0;
  return (
    <tr data-testid={`total-${label.toLowerCase().replace(/\W+/g, '-')}`}>
      <th scope="row">{label}</th>
      <td data-value={before}>{fmt(before)}</td>
      <td data-value={after}>{fmt(after)}</td>
      <td>{drop > 0 ? `−${formatPercent(drop)}` : '0%'}</td>
    </tr>
  );
}

/**
 * "File size": the bytes of the files that were opened against the bytes of the download in the
 * chosen format and weight storage (export-actions.ts builds each download to measure it, a moment
 * after the plan rests; the last measured figure stays until then).
 */
function FileSizeRow() {
  useMeasuredExportSizes();
  useExportSizes((s) => s.kind);
  const kind = chosenKind();
  useWorkbench((s) => s.session?.id); // another model: its own opened bytes
  // The last measured figure stays while a new plan is measured (a moment), so the row does not flicker.
  const after = useExportSizes((s) => s.sizes[kind]);
  const before = openedBytes();
  if (before === undefined || after === undefined) {
    return (
      <tr data-testid="total-file-size">
        <th scope="row">File size</th>
        <td data-value={before}>{before === undefined ? '…' : formatBytes(before)}</td>
        <td>…</td>
        <td />
      </tr>
    );
  }
  return <Row label="File size" before={before} after={after} fmt={formatBytes} />;
}

/** Parameters, FLOPs and file size before and after the current plan, live on every tick. */
export function TotalsPanel() {
  const totals = useTotals();
  const plan = useWorkbench((s) => s.plan);
  const graph = useWorkbench((s) => s.session?.graph);
  if (!totals || !graph) return null;
  const { before, after } = totals;
  const prunable = graph.groups.filter((g) => g.prunable);
  const channels = prunable.reduce((n, g) => n + g.size, 0);
  const removed = Object.values(plan.remove).reduce((n, v) => n + v.length, 0);
  return (
    <section className="totals-bar" aria-label="Totals">
      <h2 className="visually-hidden">Totals</h2>
      <table>
        <thead>
          <tr>
            <th />
            <th scope="col">Before</th>
            <th scope="col">After</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          <Row label="Parameters" before={before.params} after={after.params} fmt={formatCount} />
          <Row label="FLOPs" before={before.flops} after={after.flops} fmt={formatCount} />
          <FileSizeRow />
        </tbody>
      </table>
      <p className="hint totals-note">
        {formatPercent(channels ? removed / channels : 0)} of prunable filters removed →{' '}
        {formatPercent(before.params ? 1 - after.params / before.params : 0)} of parameters. A layer between
        two pruned layers loses about 1−(1−p)² of its weights. FLOPs count a multiply-add as 2.
      </p>
    </section>
  );
}
