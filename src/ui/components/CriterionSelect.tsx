import { CRITERIA, type Criterion } from '../../core/scoring';

/** A criterion menu for a panel: data-based criteria are offered only with a sample set, and say so. */
export function CriterionSelect({
  value,
  onChange,
  hasSamples,
  label,
}: {
  value: Criterion;
  onChange: (c: Criterion) => void;
  hasSamples: boolean;
  label: string;
}) {
  return (
    <select value={value} aria-label={label} onChange={(e) => onChange(e.target.value as Criterion)}>
      {CRITERIA.map((c) => (
        <option key={c.id} value={c.id} disabled={c.dataBased && !hasSamples} title={c.description}>
          {c.label}
          {c.dataBased && !hasSamples ? ' (needs a sample set)' : ''}
        </option>
      ))}
    </select>
  );
}

/** Line colours for charts (ColorBrewer Dark2 + Set1), cycled. */
export const LINE_COLOURS = [
  '#1b9e77',
  '#d95f02',
  '#7570b3',
  '#e7298a',
  '#66a61e',
  '#e6ab02',
  '#a6761d',
  '#377eb8',
  '#e41a1c',
  '#4daf4a',
];
