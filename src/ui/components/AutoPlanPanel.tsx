import { useMemo } from 'react';
import { NORMALIZATIONS } from '../../core/scoring';
import { applyAutoPlan, labelOf, previewAutoPlan, setAutoPlan } from '../../state/analysis-actions';
import type { AutoPlanSettings } from '../../state/analysis-slice';
import { useWorkbench } from '../../state/store';
import { formatCount, formatPercent } from '../format';

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
  const preview = useMemo(
    () => previewAutoPlan(session, scores, normalize, settings),
    [session, scores, normalize, settings],
  );
  if (!session) return null;
  const prunable = session.graph.groups.filter((g) => g.prunable);
  const global = settings.mode === 'global';
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
            checked={!global}
            onChange={() => setAutoPlan({ mode: 'ratio' })}
          />{' '}
          Same ratio in every layer
        </label>
        <label>
          <input
            type="radio"
            name="auto-mode"
            checked={global}
            onChange={() => setAutoPlan({ mode: 'global' })}
          />{' '}
          Global ranking to a target
        </label>
      </fieldset>
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
            <thead>
              <tr>
                <th />
                <th scope="col">Now</th>
                <th scope="col">With the plan</th>
                <th scope="col">Removed</th>
              </tr>
            </thead>
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
                <td>{formatCount(preview.baseline.flops)}</td>
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
            </tbody>
          </table>
          {!preview.met && (
            <p className="notice" role="status">
              The limits (max ratio per group, rounding, layers left alone, one filter kept per layer) stop
              short of the target.
            </p>
          )}
        </>
      )}
      <button type="button" disabled={!preview || 'error' in preview} onClick={applyAutoPlan}>
        Apply as ticks
      </button>
    </section>
  );
}
