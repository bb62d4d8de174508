import { memo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, Tooltip, XAxis, YAxis } from 'recharts';
import { NORMALIZATIONS } from '../../core/scoring';
import type { SweepResult, SweepSeries } from '../../core/sensitivity';
import { cancelJob, labelOf, runSweep, setSweepCriterion } from '../../state/analysis-actions';
import { useWorkbench } from '../../state/store';
import { formatCount, formatPercent } from '../format';
import { CriterionSelect, LINE_COLOURS } from './CriterionSelect';
import { JobBar } from './JobBar';

const pct = (r: number) => Math.round(r * 1000) / 10;

function metricValue(result: SweepResult, p: SweepSeries['points'][number]): number | null {
  return result.metric === 'accuracy' ? p.accuracy : p.agreement;
}

const SweepChart = memo(function SweepChart({ result }: { result: SweepResult }) {
  const name = `${result.metric === 'accuracy' ? 'Accuracy' : 'Agreement'} against remaining FLOPs for global plans, one line per criterion, random as the baseline`;
  const base = result.metric === 'accuracy' ? result.baseline.accuracy : 1;
  return (
    <figure className="chart">
      <div role="img" aria-label={`${name}. The numbers are in the table below.`}>
        <LineChart width={560} height={300} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            dataKey="x"
            type="number"
            domain={[0, 100]}
            unit="%"
            reversed
            label={{ value: 'FLOPs remaining', position: 'insideBottom', offset: -12 }}
          />
          <YAxis
            dataKey="y"
            domain={[0, 100]}
            unit="%"
            label={{ value: result.metric, angle: -90, position: 'insideLeft' }}
          />
          <Tooltip formatter={(v) => `${String(v)}%`} />
          <Legend verticalAlign="top" />
          {base !== null && (
            <ReferenceLine
              y={pct(base)}
              stroke="#888"
              strokeDasharray="4 4"
              label={{ value: 'original', position: 'insideBottomLeft' }}
            />
          )}
          {result.series.map((s, i) => (
            <Line
              key={s.criterion}
              name={s.criterion === 'random' ? 'random (baseline)' : s.criterion}
              data={s.points.map((p) => ({ x: pct(p.remainingFlops), y: pct(metricValue(result, p) ?? 0) }))}
              dataKey="y"
              stroke={s.criterion === 'random' ? '#555' : LINE_COLOURS[i % LINE_COLOURS.length]}
              strokeDasharray={s.criterion === 'random' ? '6 3' : undefined}
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
 * Global plans at 10% ... 70% of FLOPs removed for one criterion and for random scores, measured on
 * the sample set: does the criterion beat chance on this model? Chart plus a table of the numbers.
 */
export function GlobalSweepPanel() {
  const sampleSet = useWorkbench((s) => s.sampleSet);
  const sweep = useWorkbench((s) => s.analysis.sweep);
  const shownCriterion = useWorkbench((s) => s.criterion);
  const sweepJob = useWorkbench((s) => s.jobs.sweep);
  const normalize = useWorkbench((s) => s.analysis.normalize);
  const result = sweep.result;
  return (
    <section className="panel sweep" aria-label="Global sweep">
      <h2>Accuracy against FLOPs, criterion against random</h2>
      <p className="hint">
        Global plans removing 10% to 70% of the FLOPs, ranked by the criterion with{' '}
        {NORMALIZATIONS.find((n) => n.id === normalize)?.label ?? normalize} normalisation, before any
        fine-tuning. A criterion worth its cost stays above the random line.
      </p>
      {!sampleSet && <p className="notice">Drop a sample set (.plss) to run the sweep.</p>}
      <div className="row">
        <label>
          Criterion{' '}
          <CriterionSelect
            label="Sweep criterion"
            value={sweep.criterion}
            hasSamples={sampleSet !== null}
            onChange={setSweepCriterion}
          />
        </label>
        <span className="hint">
          {sweep.criterion === shownCriterion
            ? 'the same as the heatmaps'
            : `the heatmaps show ${labelOf(shownCriterion)}`}
        </span>
        <button
          type="button"
          disabled={!sampleSet || sweepJob.status === 'running'}
          onClick={() => void runSweep()}
        >
          Run global sweep
        </button>
      </div>
      <JobBar name="Global sweep" job={sweepJob} unit="evaluations" onCancel={() => cancelJob('sweep')} />
      {result && (
        <>
          <SweepChart result={result} />
          <table className="sweep-table" aria-label="Global sweep results">
            <caption>
              {result.samples} samples; original {formatPercent(result.baseline.accuracy, 2)},{' '}
              {formatCount(result.baseline.flops)} FLOPs
            </caption>
            <thead>
              <tr>
                <th scope="col">Criterion</th>
                <th scope="col">Target</th>
                <th scope="col">FLOPs remaining</th>
                <th scope="col">Params</th>
                <th scope="col">{result.metric === 'accuracy' ? 'Accuracy' : 'Agreement'}</th>
              </tr>
            </thead>
            <tbody>
              {result.series.flatMap((s) =>
                s.points.map((p) => (
                  <tr
                    key={`${s.criterion}-${p.target}`}
                    data-testid={`sweep-${s.criterion}-${pct(p.target)}`}
                  >
                    <th scope="row">{s.criterion}</th>
                    <td>
                      −{pct(p.target)}%{p.met ? '' : ' (not met)'}
                    </td>
                    <td data-value={p.remainingFlops}>{formatPercent(p.remainingFlops)}</td>
                    <td data-value={p.params}>{formatCount(p.params)}</td>
                    <td data-value={metricValue(result, p) ?? ''}>
                      {formatPercent(metricValue(result, p), 2)}
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
