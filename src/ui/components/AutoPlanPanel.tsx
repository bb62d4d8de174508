import { useDeferredValue, useMemo } from 'react';
import { NORMALIZATIONS } from '../../core/scoring';
import { DEFAULT_MAX_IMPORTANCE_RATIO, DEFAULT_REALIZE } from '../../core/plan/speed-aware';
import { applyAutoPlan, labelOf, previewAutoPlan, setAutoPlan } from '../../state/analysis-actions';
import type { AutoPlanSettings } from '../../state/analysis-slice';
import {
  applyLatencyPlan,
  applyVerifiedLatencyPlan,
  calibrateHere,
  cancelLatencyJob,
  currentCalibrationKey,
  latencyModelOf,
  measuredKey,
  measurePlanLatency,
  predictLatency,
  previewLatencyPlan,
  setLatencyTarget,
} from '../../state/latency-actions';
import { useWorkbench } from '../../state/store';
import { useTotals } from '../../state/selectors';
import { formatCount, formatPercent } from '../format';
import { JobBar } from './JobBar';

const KINDS: { id: AutoPlanSettings['kind']; label: string }[] = [
  { id: 'flops', label: 'FLOPs' },
  { id: 'params', label: 'parameters' },
  { id: 'channels', label: 'channels' },
];

function num(v: string, fallback: number): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
}

/**
 * Automatic plans: the same ratio in every layer, or one global ranking (normalised scores) until a
 * share of parameters, FLOPs or channels is gone, with a cap per group, rounding and layers to
 * leave alone. States what the plan reaches before "Apply as ticks" puts it in the selection.
 */
export function AutoPlanPanel() {
  const session = useWorkbench((s) => s.session);
  const scores = useWorkbench((s) => s.scores);
  const criterion = useWorkbench((s) => s.criterion);
  const normalize = useWorkbench((s) => s.analysis.normalize);
  const settings = useWorkbench((s) => s.analysis.autoPlan);
  const latency = useWorkbench((s) => s.latency);
  const latencyJob = useWorkbench((s) => s.jobs.latency);
  const latencyMode = latency.enabled;
  // The open model's latency model here, once calibrated: FLOPs plans can then be ranked for speed.
  const latencyModel = useMemo(
    () => (session && latency.calibrated ? latencyModelOf(session) : undefined),
    [session, latency.calibrated],
  );
  // Planning runs on a deferred copy of the settings: a keystroke in "Remove N%" paints at once and the
  // reach table follows (a plan ranked for speed may try several rankings: up to ~0.2 s on 300 layers).
  const deferredSettings = useDeferredValue(settings);
  const preview = useMemo(
    () => (latencyMode ? null : previewAutoPlan(session, scores, normalize, deferredSettings, latencyModel)),
    [latencyMode, session, scores, normalize, deferredSettings, latencyModel],
  );
  // With a calibration on this device, what the FLOPs / parameters plan is predicted to run at here.
  const predicted = useMemo(() => {
    if (!session || !preview || 'error' in preview || !latency.calibrated) return null;
    const m = predictLatency(session, preview.plan);
    return m === null || m <= 0
      ? null
      : {
          ms: m,
          baselineMs: predictLatency(session, { version: 1, remove: {} }) ?? latency.calibrated.baselineMs,
          flopsRatio: preview.baseline.flops / Math.max(1, preview.reached.flops),
        };
  }, [preview, session, latency.calibrated]);
  if (!session) return null;
  const prunable = session.graph.groups.filter((g) => g.prunable);
  const global = settings.mode === 'global' && !latencyMode;
  const normLabel = NORMALIZATIONS.find((n) => n.id === normalize)?.label ?? normalize;
  return (
    <section className="panel auto-plan" aria-label="Automatic plans">
      <h2>Automatic plans</h2>
      <fieldset className="row">
        <legend>How</legend>
        <label>
          <input
            type="radio"
            name="auto-mode"
            checked={settings.mode === 'ratio' && !latencyMode}
            onChange={() => {
              setAutoPlan({ mode: 'ratio' });
              setLatencyTarget({ enabled: false });
            }}
          />{' '}
          Same ratio in every layer
        </label>
        <label>
          <input
            type="radio"
            name="auto-mode"
            checked={global}
            onChange={() => {
              setAutoPlan({ mode: 'global' });
              setLatencyTarget({ enabled: false });
            }}
          />{' '}
          Global ranking to a target
        </label>
        <label>
          <input
            type="radio"
            name="auto-mode"
            checked={latencyMode}
            onChange={() => setLatencyTarget({ enabled: true })}
          />{' '}
          Latency on this device
        </label>
      </fieldset>
      {latencyMode ? (
        <LatencyTarget />
      ) : (
        <div className="row">
          <label>
            Remove{' '}
            <input
              type="number"
              min={0}
              max={99}
              step={1}
              value={settings.percent}
              aria-label="Share to remove (%)"
              onChange={(e) => setAutoPlan({ percent: num(e.target.value, settings.percent) })}
            />
            %{' '}
          </label>
          {global ? (
            <label>
              of the{' '}
              <select
                value={settings.kind}
                aria-label="Target"
                onChange={(e) => setAutoPlan({ kind: e.target.value as AutoPlanSettings['kind'] })}
              >
                {KINDS.map((k) => (
                  <option key={k.id} value={k.id}>
                    {k.label}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <span>of the filters of every layer</span>
          )}
        </div>
      )}
      {global && settings.kind === 'flops' && (
        <div className="row for-speed">
          <label>
            <input
              type="checkbox"
              checked={settings.forSpeed !== false && latencyModel !== undefined}
              disabled={latencyModel === undefined}
              onChange={(e) => setAutoPlan({ forSpeed: e.target.checked })}
            />{' '}
            Rank for speed on this device
          </label>
          {latencyModel === undefined && (
            <>
              <span className="hint">needs a latency calibration here</span>
              <button
                type="button"
                disabled={latencyJob.status === 'running'}
                onClick={() => void calibrateHere()}
              >
                Calibrate
              </button>
            </>
          )}
        </div>
      )}
      {global && settings.kind === 'flops' && latencyModel === undefined && (
        <JobBar name="Latency" job={latencyJob} unit="layers" onCancel={cancelLatencyJob} />
      )}
      <div className="row">
        <label>
          At most{' '}
          <input
            type="number"
            min={1}
            max={100}
            value={settings.maxRatioPercent}
            aria-label="Max ratio per group (%)"
            onChange={(e) => setAutoPlan({ maxRatioPercent: num(e.target.value, settings.maxRatioPercent) })}
          />
          % of a group
        </label>
        <label>
          Keep a multiple of{' '}
          <input
            type="number"
            min={1}
            max={256}
            value={settings.roundTo}
            aria-label="Round kept filters to a multiple of"
            onChange={(e) => setAutoPlan({ roundTo: Math.max(1, Math.floor(num(e.target.value, 1))) })}
          />{' '}
          filters
        </label>
      </div>
      <details>
        <summary>
          Layers to leave alone{settings.ignore.length > 0 ? ` (${settings.ignore.length})` : ''}
        </summary>
        <div className="ignore-list">
          {prunable.map((g) => (
            <label key={g.id}>
              <input
                type="checkbox"
                checked={settings.ignore.includes(g.producer)}
                aria-label={`Leave ${g.producer} alone`}
                onChange={(e) =>
                  setAutoPlan({
                    ignore: e.target.checked
                      ? [...settings.ignore, g.producer]
                      : settings.ignore.filter((n) => n !== g.producer),
                  })
                }
              />{' '}
              {g.producer} ({g.size})
            </label>
          ))}
        </div>
      </details>
      <p className="hint">
        Ranked by {labelOf(criterion)}
        {global ? `, normalised per layer (${normLabel})` : ''}; lowest first. Nothing is changed until you
        apply.
      </p>
      {preview && 'error' in preview && <p role="alert">{preview.error}</p>}
      {preview && !('error' in preview) && (
        <>
          <table className="auto-plan-reach" aria-label="What the plan reaches">
            <ReachHead last="Removed" />
            <tbody>
              <tr>
                <th scope="row">Parameters</th>
                <td>{formatCount(preview.baseline.params)}</td>
                <td data-testid="reach-params" data-value={preview.reached.params}>
                  {formatCount(preview.reached.params)}
                </td>
                <td data-testid="reach-params-removed" data-value={preview.removed.params}>
                  {formatPercent(preview.removed.params)}
                </td>
              </tr>
              <tr>
                <th scope="row">FLOPs</th>
                <td data-testid="reach-flops-baseline" data-value={preview.baseline.flops}>
                  {formatCount(preview.baseline.flops)}
                </td>
                <td data-testid="reach-flops" data-value={preview.reached.flops}>
                  {formatCount(preview.reached.flops)}
                </td>
                <td data-testid="reach-flops-removed" data-value={preview.removed.flops}>
                  {formatPercent(preview.removed.flops)}
                </td>
              </tr>
              <tr>
                <th scope="row">Prunable filters</th>
                <td>{preview.baseline.channels}</td>
                <td data-testid="reach-channels" data-value={preview.reached.channels}>
                  {preview.reached.channels}
                </td>
                <td>{formatPercent(preview.removed.channels)}</td>
              </tr>
              {predicted && (
                <LatencyRow
                  baselineMs={predicted.baselineMs}
                  ms={predicted.ms}
                  testId="reach-latency-flops-plan"
                />
              )}
            </tbody>
          </table>
          {preview.speed && preview.speed.strength > 0 && (
            <p className="hint" data-testid="speed-ranked" data-strength={preview.speed.strength}>
              Ranked for speed here: filters whose FLOPs take the most time on this device go a little earlier
              (strength {preview.speed.strength}), so the FLOPs cut shows as speed: predicted{' '}
              {preview.speed.predictedSpeedup.toFixed(2)}x faster for FLOPs /
              {preview.speed.flopsRatio.toFixed(2)}, where the plain ranking gives{' '}
              {preview.speed.plainPredictedSpeedup.toFixed(2)}x. It removes{' '}
              {preview.speed.importanceRatio.toFixed(2)}x the importance of the plain ranking; Preview
              measures the accuracy.
            </p>
          )}
          {predicted && predicted.baselineMs / predicted.ms < 0.9 * predicted.flopsRatio && (
            <p className="hint" data-testid="flops-latency-gap">
              FLOPs /{predicted.flopsRatio.toFixed(2)}, but predicted{' '}
              {(predicted.baselineMs / predicted.ms).toFixed(2)}x faster on this device: part of its time goes
              to work FLOPs do not count (moving activations, per-layer overhead)
              {preview.speed?.shortBy === 'overhead'
                ? `, and no weighting of the ranking gets to ${DEFAULT_REALIZE} of the FLOPs ratio here`
                : preview.speed?.shortBy === 'importance'
                  ? `; the weighting that would get to ${DEFAULT_REALIZE} of the FLOPs ratio removes more than ${DEFAULT_MAX_IMPORTANCE_RATIO}x the importance of the plain ranking, so the plain ranking is kept`
                  : ''}
              . A latency target plans for the speed you will see here.
            </p>
          )}
          {!preview.met && (
            <p className="notice" role="status">
              The limits (max ratio per group, rounding, layers left alone, one filter kept per layer) stop
              short of the target.
            </p>
          )}
        </>
      )}
      {latencyMode ? (
        <LatencyReach />
      ) : (
        <>
          <div className="row apply-row">
            <button
              type="button"
              disabled={!preview || 'error' in preview}
              onClick={() => applyAutoPlan(latencyModel)}
            >
              Apply as ticks
            </button>
            {/* Calibrated: the applied plan can be timed here, measured against its FLOPs ratio. */}
            {latencyModel && <MeasureButton />}
          </div>
          {latencyModel && <MeasuredStatus flops />}
        </>
      )}
      {latencyMode || !latencyModel ? null : (
        <JobBar name="Latency" job={latencyJob} unit="runs" onCancel={cancelLatencyJob} />
      )}
    </section>
  );
}

const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

/** A reach table's column heads: now, with the plan, and `last`. */
function ReachHead({ last }: { last: string }) {
  return (
    <thead>
      <tr>
        <th />
        <th scope="col">Now</th>
        <th scope="col">With the plan</th>
        <th scope="col">{last}</th>
      </tr>
    </thead>
  );
}

/** A reach table's "Latency here (predicted)" row: now, with the plan, and the speed-up. */
function LatencyRow(p: { baselineMs: number; ms: number; speedup?: number; testId: string }) {
  const speedup = p.speedup ?? p.baselineMs / p.ms;
  return (
    <tr>
      <th scope="row">Latency here (predicted)</th>
      <td>{ms(p.baselineMs)}</td>
      <td data-testid={p.testId} data-value={p.ms}>
        {ms(p.ms)}
      </td>
      <td data-testid="reach-speedup" data-value={speedup}>
        {speedup.toFixed(2)}x faster
      </td>
    </tr>
  );
}

/** The latency target: calibration on this device (progress, Cancel), then a speed-up or ms. */
function LatencyTarget() {
  const session = useWorkbench((s) => s.session);
  const latency = useWorkbench((s) => s.latency);
  const job = useWorkbench((s) => s.jobs.latency);
  const backend = useWorkbench((s) => s.backend?.name ?? '');
  const calibrated = latency.calibrated && latency.calibrated.key === currentCalibrationKey(session);
  const running = job.status === 'running';
  return (
    <div className="latency-target">
      <div className="row">
        <button type="button" disabled={running} onClick={() => void calibrateHere()}>
          {calibrated ? 'Calibrated on this device' : 'Calibrate on this device'}
        </button>
        {calibrated && latency.calibrated && (
          <span data-testid="latency-baseline" data-value={latency.calibrated.baselineMs}>
            {' '}
            Now {ms(latency.calibrated.baselineMs)} per image on {latency.calibrated.backend} (
            {latency.calibrated.layers} layers timed in {latency.calibrated.seconds.toFixed(1)} s
            {latency.calibrated.skipped > 0 ? `, ${latency.calibrated.skipped} could not be timed alone` : ''}
            )
          </span>
        )}
      </div>
      <JobBar name="Latency" job={job} unit="layers" onCancel={cancelLatencyJob} />
      {!calibrated && !running && (
        <p className="hint">
          Times each layer at a few filter counts on this device ({backend || 'the active backend'}), so the
          plan is made for the speed you will see here, not for FLOPs. Usually a few seconds to a minute.
        </p>
      )}
      <div className="row">
        <label>
          Target{' '}
          {latency.unit === 'speedup' ? (
            <input
              type="number"
              min={1}
              max={20}
              step={0.1}
              value={latency.speedup}
              aria-label="Target speed-up (x faster)"
              onChange={(e) => {
                const v = Number(e.target.value);
                if (Number.isFinite(v)) setLatencyTarget({ speedup: v });
              }}
            />
          ) : (
            <input
              type="number"
              min={0}
              step={0.1}
              value={latency.ms > 0 ? latency.ms : (latency.calibrated?.baselineMs ?? 0) / 2}
              aria-label="Target latency (ms)"
              onChange={(e) => {
                const v = Number(e.target.value);
                if (Number.isFinite(v)) setLatencyTarget({ ms: v });
              }}
            />
          )}{' '}
          <select
            value={latency.unit}
            aria-label="Latency target unit"
            onChange={(e) => setLatencyTarget({ unit: e.target.value as 'speedup' | 'ms' })}
          >
            <option value="speedup">x faster here</option>
            <option value="ms">ms per image</option>
          </select>
        </label>
      </div>
    </div>
  );
}

/** What the latency plan is predicted to reach, "Apply as ticks", then "Measure": predicted vs measured. */
function LatencyReach() {
  const session = useWorkbench((s) => s.session);
  const scores = useWorkbench((s) => s.scores);
  const normalize = useWorkbench((s) => s.analysis.normalize);
  const settings = useWorkbench((s) => s.analysis.autoPlan);
  const latency = useWorkbench((s) => s.latency);
  const key = useWorkbench((s) => s.planKey);
  const job = useWorkbench((s) => s.jobs.latency);
  const r = useMemo(
    () => previewLatencyPlan(session, scores, normalize, settings, latency),
    [session, scores, normalize, settings, latency],
  );
  const verified = session ? latency.verified?.[measuredKey(session.id, key)] : undefined;
  return (
    <>
      {r && 'error' in r && <p role="alert">{r.error}</p>}
      {r && !('error' in r) && (
        <>
          <table className="auto-plan-reach" aria-label="What the latency plan reaches">
            <ReachHead last="Change" />
            <tbody>
              <LatencyRow
                baselineMs={r.baselineMs}
                ms={r.predictedMs}
                speedup={r.predictedSpeedup}
                testId="reach-latency"
              />
              <tr>
                <th scope="row">Parameters</th>
                <td>{formatCount(r.baseline.params)}</td>
                <td>{formatCount(r.reached.params)}</td>
                <td>-{formatPercent(r.removed.params)}</td>
              </tr>
              <tr>
                <th scope="row">FLOPs</th>
                <td>{formatCount(r.baseline.flops)}</td>
                <td>{formatCount(r.reached.flops)}</td>
                <td>-{formatPercent(r.removed.flops)}</td>
              </tr>
            </tbody>
          </table>
          {!r.met && (
            <p className="notice" role="status">
              The limits (max ratio per group, layers left alone, one filter kept per layer, filter counts
              this device runs badly) stop short of the target: {ms(r.targetMs)}.
            </p>
          )}
        </>
      )}
      <div className="row apply-row">
        <button type="button" disabled={!r || 'error' in r} onClick={applyLatencyPlan}>
          Apply as ticks
        </button>
        <button
          type="button"
          disabled={!r || 'error' in r || job.status === 'running'}
          onClick={() => void applyVerifiedLatencyPlan()}
          title="Build the plan, measure it against the original here, and re-plan from the measurement when it misses by more than 5% (at most twice)"
        >
          Apply and verify here
        </button>
        <MeasureButton />
      </div>
      {verified && (
        <div className="latency-verified" data-testid="latency-verified" data-verified={verified.verified}>
          <p>Planned to {verified.target} and measured here, each proposal alternated with the original:</p>
          <ol>
            {verified.proposals.map((p, i) => (
              <li key={i}>
                stated {p.predictedSpeedup.toFixed(2)}x, measured {p.measuredSpeedup.toFixed(2)}x (
                {ms(p.measuredMs)} against {ms(p.baselineMs)})
                {Math.abs(p.measuredSpeedup / p.predictedSpeedup - 1) <= 0.05
                  ? ': within 5%, applied'
                  : i < verified.proposals.length - 1 || !verified.verified
                    ? ': off by more than 5%, re-planned from this measurement'
                    : ''}
              </li>
            ))}
          </ol>
          {!verified.verified && (
            <p className="hint">
              The plan applied is the re-plan after the last measurement, stated at{' '}
              {verified.predictedSpeedup.toFixed(2)}x; Measure checks it.
            </p>
          )}
        </div>
      )}
      <MeasuredStatus />
    </>
  );
}

/** "Measure": times the plan on screen here against the original, alternated (a 'latency' job). */
function MeasureButton() {
  const session = useWorkbench((s) => s.session);
  const job = useWorkbench((s) => s.jobs.latency);
  return (
    <button
      type="button"
      disabled={job.status === 'running' || !session}
      onClick={() => void measurePlanLatency()}
    >
      Measure
    </button>
  );
}

/**
 * What "Measure" found for the plan on screen, predicted against measured (or what it is predicted at,
 * before); with `flops`, also how much of the plan's FLOPs ratio the measured speed-up is.
 */
function MeasuredStatus({ flops = false }: { flops?: boolean }) {
  const session = useWorkbench((s) => s.session);
  const latency = useWorkbench((s) => s.latency);
  const plan = useWorkbench((s) => s.plan);
  const key = useWorkbench((s) => s.planKey);
  const totals = useTotals();
  const measured = session ? latency.measured[measuredKey(session.id, key)] : undefined;
  const predictedNow = useMemo(() => predictLatency(session, plan), [session, plan, latency.calibrated]); // eslint-disable-line react-hooks/exhaustive-deps
  const flopsRatio = totals && totals.after.flops > 0 ? totals.before.flops / totals.after.flops : null;
  const speedup = measured ? measured.baselineMs / measured.medianMs : null;
  return (
    <>
      {measured && speedup !== null && (
        <p role="status" data-testid="latency-measured" data-value={measured.medianMs} data-speedup={speedup}>
          The plan on screen, here: predicted {measured.predictedMs === null ? '—' : ms(measured.predictedMs)}
          , measured {ms(measured.medianMs)} ({ms(measured.minMs)}–{ms(measured.maxMs)}, {measured.repeats}{' '}
          runs alternated with the original at {ms(measured.baselineMs)}: {speedup.toFixed(2)}x faster)
          {flops && flopsRatio !== null && flopsRatio > 1
            ? `, ${(speedup / flopsRatio).toFixed(2)} of its FLOPs ratio (/${flopsRatio.toFixed(2)})`
            : ''}
          .
        </p>
      )}
      {!measured && predictedNow !== null && (
        <p className="hint">
          The plan on screen is predicted at {ms(predictedNow)} here; Measure times it against the original.
        </p>
      )}
    </>
  );
}
