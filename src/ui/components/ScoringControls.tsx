import {
  CRITERIA,
  NORMALIZATIONS,
  type Criterion,
  type GroupReduction,
  type Normalization,
} from '../../core/scoring';
import { cancelJob, setNormalization, setReduction } from '../../state/analysis-actions';
import { setCriterion } from '../../state/actions';
import { useWorkbench } from '../../state/store';
import { JobBar } from './JobBar';

const REDUCTIONS: { id: GroupReduction; label: string }[] = [
  { id: 'sum', label: 'Sum' },
  { id: 'mean', label: 'Mean' },
  { id: 'max', label: 'Max' },
];

/**
 * The criterion menu (every criterion; the data-based ones need a sample set and say so), the
 * normalisation used by global rankings, the group reduction, and a data-based scoring job.
 */
export function ScoringControls() {
  const criterion = useWorkbench((s) => s.criterion);
  const hasSamples = useWorkbench((s) => s.sampleSet !== null);
  const scoring = useWorkbench((s) => s.jobs.scoring);
  const scoringCriterion = useWorkbench((s) => s.analysis.scoringCriterion);
  const normalize = useWorkbench((s) => s.analysis.normalize);
  const reduction = useWorkbench((s) => s.analysis.reduction);
  const shown = scoring.status === 'running' && scoringCriterion ? scoringCriterion : criterion;
  const info = CRITERIA.find((c) => c.id === shown);
  return (
    <div className="scoring-controls">
      <label>
        Criterion{' '}
        <select
          value={shown}
          onChange={(e) => setCriterion(e.target.value as Criterion)}
          aria-label="Criterion"
        >
          {CRITERIA.map((c) => (
            <option
              key={c.id}
              value={c.id}
              disabled={c.dataBased && !hasSamples}
              title={c.dataBased && !hasSamples ? 'Needs a sample set: drop a .plss file.' : c.description}
            >
              {c.label}
              {c.dataBased ? (hasSamples ? ' (on the sample set)' : ' (needs a sample set)') : ''}
            </option>
          ))}
        </select>
      </label>
      <label>
        Normalise for global ranking{' '}
        <select
          value={normalize}
          onChange={(e) => setNormalization(e.target.value as Normalization)}
          aria-label="Normalisation"
        >
          {NORMALIZATIONS.map((n) => (
            <option key={n.id} value={n.id} title={n.description}>
              {n.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Coupled layers{' '}
        <select
          value={reduction}
          onChange={(e) => setReduction(e.target.value as GroupReduction)}
          aria-label="Group reduction"
        >
          {REDUCTIONS.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      {info && (
        <p className="hint criterion-info" data-testid="criterion-info">
          {info.description}
          {!hasSamples && ' APoZ, mean activation and Taylor need a sample set.'}
        </p>
      )}
      <JobBar name="Scoring" job={scoring} unit="samples" onCancel={() => cancelJob('scoring')} />
    </div>
  );
}
