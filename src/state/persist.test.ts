import { describe, expect, it } from 'vitest';
import { hasUnsavedWork, storageAvailable, storageErrorText, whenSaved } from './persist';
import { useWorkbench } from './store';
import { startHistory, commitStep } from '../core/plan/history';

describe('saving sessions in the browser', () => {
  it('names a full quota as such, and says the work stays open', () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    expect(storageErrorText(quota)).toMatch(/storage quota is full/);
    expect(storageErrorText(quota)).toMatch(/stays open/);
    expect(storageErrorText(new Error('disk on fire'))).toMatch(/could not be saved.*disk on fire/);
  });

  it('counts work as unsaved where the browser cannot keep it (no IndexedDB here), and only when there is work', () => {
    expect(storageAvailable()).toBe(false);
    const base = useWorkbench.getState();
    const session = { id: 1, uid: 'u', name: 'm', files: [], ir: {} as never, graph: {} as never };
    const empty = {
      ...base,
      session,
      history: startHistory({ version: 1, remove: {} }, 'open', 0),
      results: {},
    };
    expect(hasUnsavedWork(empty)).toBe(false);
    const ticked = {
      ...empty,
      history: commitStep(empty.history, { version: 1, remove: { c: [1] } }, 'tick c #1'),
    };
    expect(hasUnsavedWork(ticked)).toBe(true);
    expect(hasUnsavedWork({ ...ticked, session: null })).toBe(false);
  });
});

describe('whenSaved', () => {
  it('resolves at once when no save is scheduled or being written (nothing is, without IndexedDB)', async () => {
    expect(storageAvailable()).toBe(false);
    let done = false;
    void whenSaved().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(done).toBe(true);
  });
});
