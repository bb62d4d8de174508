import { useTotals } from '../../state/selectors';
import { useWorkbench } from '../../state/store';
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
    <section className="panel totals" aria-label="Totals">
      <h2>Totals</h2>
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
          <Row label="File size" before={before.bytes} after={after.bytes} fmt={formatBytes} />
        </tbody>
      </table>
      <p className="hint">
        {formatPercent(channels ? removed / channels : 0)} of prunable filters removed →{' '}
        {formatPercent(before.params ? 1 - after.params / before.params : 0)} of parameters. A layer between
        two pruned layers loses about 1−(1−p)² of its weights. FLOPs count a multiply-add as 2.
      </p>
    </section>
  );
}
