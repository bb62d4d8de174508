import { useEffect, useRef } from 'react';
import { jumpToPlanStep } from '../../state/plan-slice';
import { useWorkbench } from '../../state/store';

function time(at: number): string {
  return at > 0
    ? new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : '';
}

/**
 * Every named step of the plan, newest last (Photoshop's History panel): click one to go back to
 * it. Steps after the current one stay listed, dimmed, and can be clicked or redone until the next
 * change replaces them.
 */
export function HistoryPanel() {
  const history = useWorkbench((s) => s.history);
  const locked = useWorkbench((s) => s.planLock !== null);
  const results = useWorkbench((s) => s.results);
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    list.current?.querySelector('[aria-current="step"]')?.scrollIntoView({ block: 'nearest' });
  }, [history.index]);
  return (
    <section className="panel history" aria-label="History">
      <h2>
        History <span className="hint">({history.steps.length} steps)</span>
      </h2>
      <ol className="history-list" ref={list}>
        {history.steps.map((step, i) => {
          const r = results[step.key];
          const marks = [
            r?.preview || r?.compare ? 'measured' : '',
            r?.recovered?.length ? 'recovered' : '',
          ].filter(Boolean);
          return (
            <li key={`${i}-${step.at}`} className={i > history.index ? 'undone' : undefined}>
              <button
                type="button"
                aria-current={i === history.index ? 'step' : undefined}
                disabled={locked}
                title={`${step.label}${time(step.at) ? ` at ${time(step.at)}` : ''}`}
                onClick={() => jumpToPlanStep(i)}
              >
                <span className="history-label">{step.label}</span>
                {marks.length > 0 && <span className="history-marks">{marks.join(', ')}</span>}
              </button>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
