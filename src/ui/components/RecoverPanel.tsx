import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import type { OptimizerName } from '../../core/train';
import {
  recoveredMatches,
  runFineTune,
  runReestimateBatchNorm,
  cancelReestimate,
  setFineTuneSettings,
  stopFineTune,
} from '../../state/recover-actions';
import { useWorkbench } from '../../state/store';
import { currentResults } from '../../state/plan-slice';
import { initialFineTune } from '../../state/recover-slice';
import { formatPercent } from '../format';
import { JobBar } from './JobBar';

function NumberField({
  label,
  value,
  step,
  min,
  max,
  onChange,
}: {
  label: string;
  value: number;
  step: number;
  min: number;
  max?: number;
  onChange: (v: number) => void;
}) {
  return (
    <label style={{ display: 'block' }}>
      {label}{' '}
      <input
        type="number"
        aria-label={label}
        value={value}
        step={step}
        min={min}
        max={max}
        style={{ width: '6em' }}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          if (Number.isFinite(v)) onChange(v);
        }}
      />
    </label>
  );
}

/**
 * Recover the pruned model: re-estimate BatchNorm on the samples, fine-tune (optionally distilled
 * from the original) with live curves, Stop keeping the best weights; the download uses the result
 * while the plan stays the same.
 */
export function RecoverPanel() {
  const sampleSet = useWorkbench((s) => s.sampleSet);
  const st = useWorkbench((s) => s.recover.settings);
  const results = useWorkbench(currentResults);
  const bnJob = useWorkbench((s) => s.jobs.bn);
  const ftJob = useWorkbench((s) => s.jobs.finetune);
  const planKey = useWorkbench((s) => s.planKey);
  const otherRecovered = useWorkbench((s) =>
    Object.entries(s.results).some(([k, r]) => k !== s.planKey && (r.recovered?.length ?? 0) > 0),
  );
  const matches = useWorkbench(recoveredMatches);
  const ft = results?.fineTune ?? initialFineTune;
  const steps = results?.recovered ?? [];
  const running = ftJob.status === 'running' || bnJob.status === 'running';
  const data = ft.curve.map((r) => ({
    epoch: r.epoch,
    loss: Number(r.loss.toFixed(4)),
    train: r.accuracy === null ? null : Number((r.accuracy * 100).toFixed(2)),
    val: r.valAccuracy === null ? null : Number((r.valAccuracy * 100).toFixed(2)),
  }));
  return (
    <section className="panel recover" aria-label="Recover">
      <h2>Recover</h2>
      <p className="hint">
        Accuracy usually collapses right after pruning and recovers with fine-tuning; re-estimating BatchNorm
        alone often wins back much of it. Both work on the pruned model of the current plan.
      </p>
      <div className="row">
        <button type="button" disabled={!sampleSet || running} onClick={() => void runReestimateBatchNorm()}>
          Re-estimate BatchNorm
        </button>
      </div>
      <JobBar
        name="BatchNorm re-estimation"
        job={bnJob}
        unit="samples"
        planKey={planKey}
        onCancel={cancelReestimate}
        cancelledText="The weights stay as they were."
      />
      {results?.bn && <p role="status">BatchNorm re-estimated in {results.bn.layers} layers.</p>}
      <fieldset disabled={running}>
        <legend>Fine-tune</legend>
        <NumberField
          label="Epochs"
          value={st.epochs}
          step={1}
          min={1}
          onChange={(v) => setFineTuneSettings({ epochs: Math.max(1, Math.round(v)) })}
        />
        <NumberField
          label="Batch size"
          value={st.batchSize}
          step={1}
          min={1}
          onChange={(v) => setFineTuneSettings({ batchSize: Math.max(1, Math.round(v)) })}
        />
        <NumberField
          label="Learning rate"
          value={st.learningRate}
          step={0.0001}
          min={0}
          onChange={(v) => setFineTuneSettings({ learningRate: v })}
        />
        <label style={{ display: 'block' }}>
          Optimizer{' '}
          <select
            aria-label="Optimizer"
            value={st.optimizer}
            onChange={(e) => setFineTuneSettings({ optimizer: e.currentTarget.value as OptimizerName })}
          >
            <option value="adam">Adam</option>
            <option value="sgd">SGD</option>
            <option value="momentum">SGD with momentum</option>
          </select>
        </label>
        <NumberField
          label="Validation split"
          value={st.valSplit}
          step={0.05}
          min={0}
          max={0.9}
          onChange={(v) => setFineTuneSettings({ valSplit: Math.min(0.9, Math.max(0, v)) })}
        />
        <label style={{ display: 'block' }}>
          <input
            type="checkbox"
            checked={st.distill}
            onChange={(e) => setFineTuneSettings({ distill: e.currentTarget.checked })}
          />{' '}
          Distil from the original (works without labels)
        </label>
        {st.distill && (
          <>
            <NumberField
              label="Temperature"
              value={st.temperature}
              step={0.5}
              min={0.5}
              onChange={(v) => setFineTuneSettings({ temperature: v })}
            />
            <NumberField
              label="Alpha (soft-target weight)"
              value={st.alpha}
              step={0.1}
              min={0}
              max={1}
              onChange={(v) => setFineTuneSettings({ alpha: Math.min(1, Math.max(0, v)) })}
            />
          </>
        )}
      </fieldset>
      <div className="row">
        <button type="button" disabled={!sampleSet || running} onClick={() => void runFineTune()}>
          Fine-tune
        </button>
        {ftJob.status === 'running' && (
          <button type="button" onClick={stopFineTune}>
            Stop (keep best)
          </button>
        )}
      </div>
      {ftJob.status === 'running' && (
        <p className="hint" data-testid="plan-locked">
          The ticks are locked while fine-tuning runs; Stop keeps the best weights so far.
        </p>
      )}
      {ft.batch && (
        <progress
          aria-label="Fine-tuning progress"
          max={ft.batch.batches}
          value={ft.batch.batch}
          title={`epoch ${ft.batch.epoch}`}
        />
      )}
      {ftJob.status === 'error' && ftJob.planKey === planKey && (
        <p role="alert">Fine-tuning failed: {ftJob.error}</p>
      )}
      {data.length > 0 && (
        <figure aria-label="Fine-tuning curves: loss and accuracy per epoch" role="img" style={{ margin: 0 }}>
          <LineChart width={320} height={200} data={data} margin={{ top: 8, right: 8, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="epoch" />
            <YAxis yAxisId="loss" />
            <YAxis yAxisId="acc" orientation="right" domain={[0, 100]} unit="%" />
            <Tooltip />
            <Legend />
            <Line yAxisId="loss" dataKey="loss" name="loss" stroke="#dc2626" isAnimationActive={false} />
            <Line yAxisId="acc" dataKey="train" name="train acc" stroke="#2563eb" isAnimationActive={false} />
            <Line yAxisId="acc" dataKey="val" name="val acc" stroke="#16a34a" isAnimationActive={false} />
          </LineChart>
        </figure>
      )}
      {ft.curve.length > 0 && (
        <table data-testid="curve-table" aria-label="Fine-tuning curve">
          <thead>
            <tr>
              <th scope="col">Epoch</th>
              <th scope="col">Loss</th>
              <th scope="col">Train acc</th>
              <th scope="col">Val acc</th>
              <th scope="col">Val KL</th>
            </tr>
          </thead>
          <tbody>
            {ft.curve.map((r) => (
              <tr key={r.epoch}>
                <td>
                  {r.epoch}
                  {r.partial ? ' (partial)' : ''}
                </td>
                <td>{r.loss.toFixed(4)}</td>
                <td>{formatPercent(r.accuracy, 1)}</td>
                <td>{formatPercent(r.valAccuracy, 1)}</td>
                <td>{r.valKl === null ? '—' : r.valKl.toFixed(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {ft.finished && (
        <p role="status" data-testid="finetune-result">
          Validation accuracy {formatPercent(ft.before, 2)} before → {formatPercent(ft.after, 2)} after
          {ft.klAfter !== null ? ` (KL ${(ft.klBefore ?? 0).toFixed(4)} → ${ft.klAfter.toFixed(4)})` : ''};
          kept epoch {ft.bestEpoch}
          {ft.stopped ? ', stopped early' : ''}.
        </p>
      )}
      {matches && (
        <p className="hint" data-testid="recovered-note">
          The download holds the recovered model ({steps.join(', ')}), provenance kept.
        </p>
      )}
      {otherRecovered && !matches && (
        <p role="status" data-testid="recovered-stale">
          This plan has no recovered weights: the download holds the plain pruned model. Recovered weights are
          kept with the plans they were made for; undo or pick that step in the History to get them back.
        </p>
      )}
    </section>
  );
}
