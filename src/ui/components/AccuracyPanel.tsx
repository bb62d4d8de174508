import { useState } from 'react';
import { cancelCompare, runCompare } from '../../state/recover-actions';
import type { CompareFigures, ModelView } from '../../state/recover-slice';
import { useWorkbench } from '../../state/store';
import { currentResults } from '../../state/plan-slice';
import { formatPercent } from '../format';
import { JobBar } from './JobBar';

/** A confusion matrix as a table heatmap: rows true class, columns predicted. */
function Confusion({
  view,
  n,
  which,
  unshade,
}: {
  view: ModelView;
  n: number;
  which: string;
  unshade: boolean;
}) {
  const max = Math.max(1, ...view.confusion.filter((_, i) => !unshade || i % (n + 1) !== 0));
  return (
    <table className="confusion" data-testid={`confusion-${which}`} aria-label={`Confusion matrix, ${which}`}>
      <caption>{which}: rows true class, columns predicted</caption>
      <thead>
        <tr>
          <th scope="col">true \ pred</th>
          {Array.from({ length: n }, (_, j) => (
            <th key={j} scope="col">
              {j}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: n }, (_, i) => (
          <tr key={i}>
            <th scope="row">{view.perClass[i]?.name ?? i}</th>
            {Array.from({ length: n }, (_, j) => {
              const v = view.confusion[i * n + j] ?? 0;
              const shade = unshade && i === j ? 0 : v / max;
              return (
                <td
                  key={j}
                  data-count={v}
                  style={{
                    background: `rgba(37, 99, 235, ${shade.toFixed(3)})`,
                    color: shade > 0.55 ? '#fff' : undefined,
                    textAlign: 'right',
                    padding: '0 3px',
                  }}
                >
                  {v}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Figures({ c }: { c: CompareFigures }) {
  const o = c.original!;
  const p = c.pruned!;
  const rows: [string, string, string, string][] = [
    ['Top-1', 'top1', formatPercent(o.top1, 2), formatPercent(p.top1, 2)],
    ['Top-5', 'top5', formatPercent(o.top5, 2), formatPercent(p.top5, 2)],
    ['Agreement with original', 'agreement', formatPercent(o.agreement, 2), formatPercent(p.agreement, 2)],
    ['Mean KL from original (nats)', 'kl', (o.kl ?? 0).toFixed(4), (p.kl ?? 0).toFixed(4)],
    [
      `Latency per image (${c.backend ?? ''})`,
      'latency',
      `${(o.latencyMs ?? 0).toFixed(2)} ms`,
      `${(p.latencyMs ?? 0).toFixed(2)} ms`,
    ],
  ];
  return (
    <table className="preview-results" data-testid="compare-figures">
      <thead>
        <tr>
          <th scope="col" />
          <th scope="col">Original</th>
          <th scope="col">Pruned</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, id, a, b]) => (
          <tr key={id}>
            <th scope="row">{label}</th>
            <td data-testid={`cmp-${id}-original`}>{a}</td>
            <td data-testid={`cmp-${id}-pruned`}>{b}</td>
          </tr>
        ))}
        <tr>
          <th scope="row">FLOPs pruned / original</th>
          <td colSpan={2} data-testid="cmp-flops-ratio">
            {c.flopsRatio === null ? '—' : formatPercent(c.flopsRatio, 1)}
            {o.latencyMs && p.latencyMs ? ` (latency ${formatPercent(p.latencyMs / o.latencyMs, 1)})` : ''}
          </td>
        </tr>
      </tbody>
    </table>
  );
}

/** Original and pruned side by side: top-1/top-5, per class, confusion matrices, agreement, KL, latency. */
export function AccuracyPanel() {
  const sampleSet = useWorkbench((s) => s.sampleSet);
  const c = useWorkbench((s) => currentResults(s)?.compare);
  const job = useWorkbench((s) => s.jobs.compare);
  const planKey = useWorkbench((s) => s.planKey);
  const [unshade, setUnshade] = useState(false);
  const running = job.status === 'running';
  return (
    <section className="panel accuracy" aria-label="Accuracy views">
      <h2>Accuracy views</h2>
      <div className="row">
        <button type="button" disabled={!sampleSet || running} onClick={() => void runCompare()}>
          Compare original and pruned
        </button>
      </div>
      <JobBar name="Comparison" job={job} unit="samples" planKey={planKey} onCancel={cancelCompare} />
      {c?.original && c.pruned && (
        <>
          <p className="hint">
            On {c.samples} samples. Accuracy usually collapses right after pruning and recovers with
            fine-tuning (the Recover tab).
          </p>
          <Figures c={c} />
          {c.original.perClass.length > 0 && (
            <>
              <table className="per-class" data-testid="per-class" aria-label="Per-class accuracy">
                <thead>
                  <tr>
                    <th scope="col">Class</th>
                    <th scope="col">Count</th>
                    <th scope="col">Original</th>
                    <th scope="col">Pruned</th>
                  </tr>
                </thead>
                <tbody>
                  {c.original.perClass.map((pc, i) => (
                    <tr key={pc.label}>
                      <th scope="row">{pc.name}</th>
                      <td>{pc.count}</td>
                      <td>
                        {formatPercent(pc.accuracy, 1)} ({pc.correct})
                      </td>
                      <td>
                        {formatPercent(c.pruned!.perClass[i]?.accuracy, 1)} (
                        {c.pruned!.perClass[i]?.correct ?? 0})
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <label>
                <input
                  type="checkbox"
                  checked={unshade}
                  onChange={(e) => setUnshade(e.currentTarget.checked)}
                />{' '}
                Unshade diagonal (show the errors)
              </label>
              <div style={{ display: 'flex', flexWrap: 'wrap', gap: 8, fontSize: '0.75em' }}>
                <Confusion view={c.original} n={c.numClasses} which="original" unshade={unshade} />
                <Confusion view={c.pruned} n={c.numClasses} which="pruned" unshade={unshade} />
              </div>
            </>
          )}
          {c.original.perClass.length === 0 && (
            <p className="hint">
              No labels: agreement with the original and the mean KL divergence stand in for accuracy.
            </p>
          )}
        </>
      )}
    </section>
  );
}
