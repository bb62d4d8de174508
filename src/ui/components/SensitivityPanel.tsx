import { memo, useMemo, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import type { Criterion } from '../../core/scoring';
import { metricOf, type SensitivityCurve, type SensitivityResult } from '../../core/sensitivity';
import {
  applySuggestedRatios,
  cancelJob,
  labelOf,
  runSensitivity,
  setMaxDrop,
  setSensitivitySettings,
  suggestedRatios,
} from '../../state/analysis-actions';
import { useWorkbench } from '../../state/store';
import { formatCount, formatPercent } from '../format';
import { CriterionSelect, LINE_COLOURS } from './CriterionSelect';
import { JobBar } from './JobBar';

const pct = (r: number) => Math.round(r * 1000) / 10;

/** Parses "10, 20 30" (percent) into sorted unique ratios in (0, 1), or null when one is not valid. */
export function parseRatios(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  const ratios = parts.map((p) => Number(p.replace(/%$/, '')) / 100);
  if (ratios.length === 0 || ratios.some((r) => !(r > 0 && r < 1))) return null;
  return [...new Set(ratios)].sort((a, b) => a - b);
}

/** The metric of the result in words. */
function metricName(r: Pick<SensitivityResult, 'metric'>): string {
  return r.metric === 'accuracy' ? 'accuracy' : 'agreement with the original';
}

const SensitivityChart = memo(function SensitivityChart({
  curves,
  ratios,
  metric,
  baseline,
}: {
  curves: readonly SensitivityCurve[];
  ratios: readonly number[];
  metric: SensitivityResult['metric'];
  baseline: number | null;
}) {
  const data = ratios.map((r) => {
    const row: Record<string, number> = { ratio: pct(r) };
    for (const c of curves) {
      const p = c.points.find((q) => q.ratio === r);
      if (p) row[c.producer] = pct(metricOf({ metric }, p));
    }
    return row;
  });
  const name = `${metric === 'accuracy' ? 'Accuracy' : 'Agreement'} against the share of one layer's filters removed, one line per layer`;
  return (
    <figure className="chart">
      <div role="img" aria-label={`${name}. The numbers are in the table below.`}>
        <LineChart width={560} height={300} data={data} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            dataKey="ratio"
            type="number"
            domain={[0, 100]}
            unit="%"
            label={{ value: 'filters removed from the layer', position: 'insideBottom', offset: -12 }}
          />
          <YAxis domain={[0, 100]} unit="%" label={{ value: metric, angle: -90, position: 'insideLeft' }} />
          <Tooltip
            formatter={(v) => `${String(v)}%`}
            labelFormatter={(l: unknown) => `${typeof l === 'number' ? l : ''}% removed`}
          />
          <Legend verticalAlign="top" />
          {baseline !== null && (
            <ReferenceLine
              y={pct(baseline)}
              stroke="#888"
              strokeDasharray="4 4"
              label={{ value: 'original', position: 'insideBottomLeft' }}
            />
          )}
          {curves.map((c, i) => (
            <Line
              key={c.producer}
              dataKey={c.producer}
              name={c.producer}
              stroke={LINE_COLOURS[i % LINE_COLOURS.length]}
              isAnimationActive={false}
              dot={{ r: 2 }}
            />
          ))}
        </LineChart>
      </div>
      <figcaption>{name}.</figcaption>
    </figure>
  );
});

/**
 * Per-layer sensitivity: each group (or the largest N) pruned alone at 10% ... 90% by a criterion,
 * accuracy on the sample set as a line per layer and a table; "Suggest ratios" turns the curves into
 * a plan within a max accuracy drop. Results stay in the store when the view changes.
 */
export function SensitivityPanel() {
  const session = useWorkbench((s) => s.session);
  const sampleSet = useWorkbench((s) => s.sampleSet);
  const sens = useWorkbench((s) => s.analysis.sensitivity);
  const shownCriterion = useWorkbench((s) => s.criterion);
  const sensJob = useWorkbench((s) => s.jobs.sensitivity);
  const { settings } = sens;
  const [ratioText, setRatioText] = useState(settings.ratios.map(pct).join(', '));
  const ratiosValid = parseRatios(ratioText) !== null;
  const suggestion = useMemo(
    () => suggestedRatios(sens.result, sens.maxDropPoints),
    [sens.result, sens.maxDropPoints],
  );
  if (!session) return null;
  const prunable = session.graph.groups.filter((g) => g.prunable && g.size > 1);
  const running = sensJob.status === 'running';
  const result = sens.result;
  const curves = result?.curves ?? sens.partial;
  const ratios = result?.ratios ?? settings.ratios;
  const metric = result?.metric ?? (sampleSet?.labelled === false ? 'agreement' : 'accuracy');
  const baseline = result ? (metric === 'accuracy' ? result.baseline.accuracy : 1) : null;
  return (
    <section className="panel sensitivity" aria-label="Sensitivity analysis">
      <h2>Sensitivity analysis</h2>
      <p className="hint">
        Each layer pruned alone at several ratios, the rest of the model untouched, and measured on the sample
        set. A flat line can lose many filters; a cliff should be left alone.
      </p>
      {!sampleSet && <p className="notice">Drop a sample set (.plss) to run the analysis.</p>}
      <div className="row">
        <label>
          Criterion{' '}
          <CriterionSelect
            label="Sensitivity criterion"
            value={settings.criterion}
            hasSamples={sampleSet !== null}
            onChange={(criterion) => setSensitivitySettings({ criterion })}
          />
        </label>
        <span className="hint" data-testid="sens-criterion-note">
          {settings.criterion === shownCriterion
            ? 'the same as the heatmaps'
            : `the heatmaps show ${labelOf(shownCriterion)}`}
        </span>
        <label>
          <input
            type="radio"
            name="sens-groups"
            checked={settings.groups === 'all'}
            onChange={() => setSensitivitySettings({ groups: 'all' })}
          />{' '}
          All {prunable.length} layers
        </label>
        <label>
          <input
            type="radio"
            name="sens-groups"
            checked={settings.groups === 'largest'}
            onChange={() => setSensitivitySettings({ groups: 'largest' })}
          />{' '}
          The largest
        </label>
        <input
          type="number"
          min={1}
          max={Math.max(1, prunable.length)}
          value={settings.largest}
          aria-label="Number of largest layers"
          onChange={(e) =>
            setSensitivitySettings({
              largest: Math.max(1, Math.floor(Number(e.target.value) || 1)),
              groups: 'largest',
            })
          }
        />
        <span>by parameters</span>
      </div>
      <div className="row">
        <label>
          Ratios (%){' '}
          <input
            type="text"
            value={ratioText}
            aria-label="Ratios in percent"
            aria-invalid={!ratiosValid}
            onChange={(e) => {
              setRatioText(e.target.value);
              const parsed = parseRatios(e.target.value);
              if (parsed) setSensitivitySettings({ ratios: parsed });
            }}
          />
        </label>
        <button
          type="button"
          disabled={!sampleSet || running || !ratiosValid}
          onClick={() => void runSensitivity()}
        >
          Run sensitivity analysis
        </button>
      </div>
      <JobBar
        name="Sensitivity analysis"
        job={sensJob}
        unit="evaluations"
        onCancel={() => cancelJob('sensitivity')}
        cancelledText={sens.partial.length > 0 ? 'The curves finished so far are kept below.' : undefined}
      />
      {curves.length > 0 && (
        <>
          <SensitivityChart curves={curves} ratios={ratios} metric={metric} baseline={baseline} />
          <table className="sens-table" aria-label="Sensitivity results">
            <caption>
              {metric === 'accuracy' ? 'Accuracy' : 'Agreement'} by layer and share of its filters removed
              {result ? (
                <>
                  {' '}
                  ({labelOf(result.criterion as Criterion)}, {result.samples} samples; original{' '}
                  <span data-testid="sens-original" data-value={baseline ?? ''}>
                    {formatPercent(baseline, 2)}
                  </span>
                  )
                </>
              ) : (
                ' (so far)'
              )}
            </caption>
            <thead>
              <tr>
                <th scope="col">Layer</th>
                <th scope="col">Filters</th>
                <th scope="col">Params at stake</th>
                {ratios.map((r) => (
                  <th key={r} scope="col">
                    {pct(r)}%
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {curves.map((c) => (
                <tr key={c.producer} data-testid={`sens-row-${c.producer}`}>
                  <th scope="row">{c.producer}</th>
                  <td>{c.size}</td>
                  <td>{formatCount(c.params)}</td>
                  {ratios.map((r) => {
                    const p = c.points.find((q) => q.ratio === r);
                    const v = p ? metricOf({ metric }, p) : null;
                    return (
                      <td key={r} data-ratio={r} data-value={v ?? ''}>
                        {formatPercent(v, 1)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {result && (
        <div className="suggest">
          <label>
            Max {metricName(result)} drop per layer{' '}
            <input
              type="number"
              min={0}
              max={100}
              step={0.5}
              value={sens.maxDropPoints}
              aria-label="Max accuracy drop (points)"
              onChange={(e) => setMaxDrop(Math.max(0, Number(e.target.value) || 0))}
            />{' '}
            points
          </label>
          <button type="button" onClick={applySuggestedRatios}>
            Suggest ratios
          </button>
          <p className="hint" data-testid="suggested-ratios">
            {suggestion && Object.keys(suggestion).length > 0
              ? `Suggested: ${Object.entries(suggestion)
                  .map(([layer, r]) => `${layer} ${pct(r)}%`)
                  .join(', ')}. "Suggest ratios" ticks them; edit by hand after.`
              : 'No layer stays within that drop at the smallest ratio.'}
          </p>
        </div>
      )}
    </section>
  );
}
