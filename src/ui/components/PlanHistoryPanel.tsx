import {
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { plansCompared, reopenPlan } from '../../state/plans-compared';
import { useWorkbench } from '../../state/store';
import { formatCount, formatPercent } from '../format';

/** Every evaluated plan: accuracy against FLOPs left, before and after fine-tuning; any can be reopened. */
export function PlanHistoryPanel() {
  const history = useWorkbench(plansCompared);
  const current = useWorkbench((s) => s.planKey);
  if (history.length === 0) return null;
  const pruned = history
    .filter((r) => r.accuracy !== null)
    .map((r) => ({ x: r.flopsLeft * 100, y: (r.accuracy ?? 0) * 100, name: r.label }));
  const recovered = history
    .filter((r) => r.recovered !== null)
    .map((r) => ({ x: r.flopsLeft * 100, y: (r.recovered ?? 0) * 100, name: r.label }));
  return (
    <section className="panel plans" aria-label="Plans compared">
      <h2>Plans compared</h2>
      <div role="img" aria-label={`Accuracy against FLOPs left for ${history.length} plans`}>
        <ResponsiveContainer width="100%" height={200}>
          <ScatterChart margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis type="number" dataKey="x" name="FLOPs left" unit="%" domain={[0, 100]} />
            <YAxis type="number" dataKey="y" name="accuracy" unit="%" domain={[0, 100]} width={44} />
            <Tooltip />
            <Legend />
            <Scatter name="after pruning" data={pruned} fill="#e0245e" isAnimationActive={false} />
            <Scatter name="after fine-tuning" data={recovered} fill="#2171b5" isAnimationActive={false} />
          </ScatterChart>
        </ResponsiveContainer>
      </div>
      <table aria-label="Plans compared">
        <thead>
          <tr>
            <th scope="col">Plan</th>
            <th scope="col">Params</th>
            <th scope="col">FLOPs left</th>
            <th scope="col">Accuracy</th>
            <th scope="col">Fine-tuned</th>
            <th scope="col">Latency</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {history.map((r) => (
            <tr key={r.key} data-testid="plan-record">
              <th scope="row">{r.label}</th>
              <td>{formatCount(r.params)}</td>
              <td>{formatPercent(r.flopsLeft)}</td>
              <td data-value={r.accuracy ?? ''}>{formatPercent(r.accuracy, 2)}</td>
              <td data-value={r.recovered ?? ''}>{formatPercent(r.recovered, 2)}</td>
              <td>{r.latencyMs === null ? 'n/a' : `${r.latencyMs.toFixed(2)} ms`}</td>
              <td>
                <button type="button" disabled={r.key === current} onClick={() => reopenPlan(r.key)}>
                  Reopen
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
