/**
 * A session that survives a reload: the open model's files, the sample set's files, class names,
 * preprocessing, the plan history and every result (recovered weights included) are kept in the
 * browser's IndexedDB as the user works, under the session's uid. On the next visit the start page
 * offers to restore the last sessions by name and time; opening another model keeps the current one
 * in that list. Nothing leaves the machine. Where IndexedDB is missing (Node tests) or refuses
 * (quota, private mode), the page says so and works on unsaved.
 *
 * Stores: `meta` (small: the recent-sessions list), `inputs` (the files as dropped), `work` (history,
 * results, sample settings), `recovered` (recovered artifacts per plan key).
 */
import type { InputFile, ModelArtifactsData } from '../core/ir/artifacts';
import { asPlanHistory, type PlanHistory } from '../core/plan/history';
import type { PreprocessOptions } from '../core/evaluate/preprocess';
import { validatePlan } from '../core/plan/validate';
import { planKey } from '../core/plan/key';
import { getRecovered, putRecovered, recoveredKeys } from './registry';
import { useWorkbench, type PlanResults, type WorkbenchState } from './store';
import { restorePlanHistory } from './plan-slice';

const DB_NAME = 'prunelab';
const DB_VERSION = 1;
/** Sessions kept; the oldest beyond this are deleted. */
export const MAX_SAVED_SESSIONS = 6;
/** Work is written this long after the last change. */
const SAVE_DELAY_MS = 300;

/** One entry of the recent-sessions list. */
export interface SessionMeta {
  uid: string;
  name: string;
  savedAt: number;
  /** Steps in the history and the label of the one on screen. */
  steps: number;
  current: string;
  sampleName: string | null;
  /** Bytes of the files kept. */
  bytes: number;
}

interface SessionInputs {
  uid: string;
  modelName: string;
  model: InputFile[];
  samples: { kind: 'plss' | 'images'; name: string; files: InputFile[] } | null;
}

interface SessionWork {
  uid: string;
  history: PlanHistory;
  results: Record<string, PlanResults>;
  preprocess: PreprocessOptions | null;
  classNames: string[] | null;
}

interface RecoveredRecord {
  id: string;
  uid: string;
  planKey: string;
  artifacts: ModelArtifactsData;
}

const set = useWorkbench.setState;
const get = useWorkbench.getState;

let dbPromise: Promise<IDBDatabase> | null = null;

/** True where the browser offers IndexedDB. */
export function storageAvailable(): boolean {
  return typeof indexedDB !== 'undefined';
}

function openDb(): Promise<IDBDatabase> {
  dbPromise ??= new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('meta', { keyPath: 'uid' });
      db.createObjectStore('inputs', { keyPath: 'uid' });
      db.createObjectStore('work', { keyPath: 'uid' });
      db.createObjectStore('recovered', { keyPath: 'id' }).createIndex('uid', 'uid');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB could not be opened.'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of PruneLab.'));
  });
  return dbPromise;
}

type StoreName = 'meta' | 'inputs' | 'work' | 'recovered';

async function tx<T>(
  stores: StoreName[],
  mode: IDBTransactionMode,
  body: (t: IDBTransaction) => IDBRequest<T> | void,
): Promise<T | undefined> {
  const db = await openDb();
  return new Promise<T | undefined>((resolve, reject) => {
    const t = db.transaction(stores, mode);
    const req = body(t);
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error ?? new Error('IndexedDB transaction failed.'));
    t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction was aborted.'));
  });
}

/** Words for a storage failure, quota errors named as such. */
export function storageErrorText(e: unknown): string {
  const name = e instanceof DOMException || e instanceof Error ? e.name : '';
  const msg = e instanceof Error ? e.message : String(e);
  if (name === 'QuotaExceededError' || /quota/i.test(msg)) {
    return `The browser's storage quota is full, so this session is not saved (${msg}). Your work stays open in this tab; download the plan or model to keep it.`;
  }
  return `This session could not be saved in the browser (${msg || name}). Your work stays open in this tab.`;
}

// ---------------------------------------------------------------------------------------------
// What the open session came from: set by the open actions, written once per change.

let inputs: SessionInputs | null = null;
let inputsDirty = false;
let sampleSettings: { preprocess: PreprocessOptions | null; classNames: string[] | null } = {
  preprocess: null,
  classNames: null,
};

/** Called by openFiles with the model files of a newly opened session. */
export function rememberModelFiles(uid: string, modelName: string, files: InputFile[]): void {
  inputs = { uid, modelName, model: files, samples: inputs?.uid === uid ? inputs.samples : null };
  inputsDirty = true;
}

/** Called when a sample set is opened (a `.plss`, or an image folder with its settings). */
export function rememberSampleFiles(
  kind: 'plss' | 'images',
  name: string,
  files: InputFile[],
  settings: { preprocess?: PreprocessOptions; classNames?: readonly string[] } = {},
): void {
  sampleSettings = {
    preprocess: settings.preprocess ?? null,
    classNames: settings.classNames ? [...settings.classNames] : null,
  };
  if (!inputs) return;
  inputs = { ...inputs, samples: { kind, name, files } };
  inputsDirty = true;
  scheduleSave();
}

// ---------------------------------------------------------------------------------------------
// Saving.

let timer: ReturnType<typeof setTimeout> | null = null;
let saving: Promise<void> | null = null;
const savedRecovered = new Set<string>();

/** True while a change is not yet written (or could not be). */
export function hasUnsavedWork(s: WorkbenchState = get()): boolean {
  if (!s.session) return false;
  const work = s.history.steps.length > 1 || Object.keys(s.results).length > 0;
  return work && (timer !== null || saving !== null || s.persist.error !== null || !storageAvailable());
}

/** Resolves once no save is scheduled or being written (a quiet point, for the in-page benchmarks). */
export async function whenSaved(): Promise<void> {
  while (timer !== null || saving !== null) {
    if (saving) await saving.catch(() => undefined);
    else await new Promise((r) => setTimeout(r, 20));
  }
}

function scheduleSave(): void {
  if (!storageAvailable() || !get().session) return;
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    void saveNow();
  }, SAVE_DELAY_MS);
  set((s) => (s.persist.pending ? {} : { persist: { ...s.persist, pending: true } }));
}

function bytesOf(files: InputFile[]): number {
  return files.reduce((n, f) => n + f.bytes.byteLength, 0);
}

/** Writes the open session now (inputs once, work every time, new recovered weights). */
export async function saveNow(): Promise<void> {
  if (saving) await saving;
  const s = get();
  const session = s.session;
  if (!session || !storageAvailable() || !inputs || inputs.uid !== session.uid) return;
  const current = s.history.steps[s.history.index];
  const meta: SessionMeta = {
    uid: session.uid,
    name: session.name,
    savedAt: Date.now(),
    steps: s.history.steps.length,
    current: current?.label ?? '',
    sampleName: s.sampleSet?.name ?? null,
    bytes: bytesOf(inputs.model) + bytesOf(inputs.samples?.files ?? []),
  };
  const work: SessionWork = {
    uid: session.uid,
    history: s.history,
    results: s.results,
    preprocess: s.recover.images?.preprocess ?? sampleSettings.preprocess,
    classNames: s.recover.images?.classNames ?? sampleSettings.classNames,
  };
  const newRecovered: RecoveredRecord[] = [];
  for (const key of recoveredKeys(session.id)) {
    const id = `${session.uid}|${key}`;
    const artifacts = getRecovered(session.id, key);
    if (artifacts && !savedRecovered.has(id))
      newRecovered.push({ id, uid: session.uid, planKey: key, artifacts });
  }
  const writeInputs = inputsDirty ? inputs : null;
  saving = (async () => {
    try {
      await tx(['meta', 'inputs', 'work', 'recovered'], 'readwrite', (t) => {
        t.objectStore('meta').put(meta);
        t.objectStore('work').put(work);
        if (writeInputs) t.objectStore('inputs').put(writeInputs);
        for (const r of newRecovered) t.objectStore('recovered').put(r);
      });
      if (writeInputs === inputs) inputsDirty = false;
      for (const r of newRecovered) savedRecovered.add(r.id);
      await dropOldSessions();
      set((st) => ({
        persist: { ...st.persist, error: null, savedAt: meta.savedAt, pending: timer !== null },
      }));
      await refreshRecentSessions();
    } catch (e) {
      set((st) => ({ persist: { ...st.persist, error: storageErrorText(e), pending: false } }));
    }
  })();
  try {
    await saving;
  } finally {
    saving = null;
  }
}

async function dropOldSessions(): Promise<void> {
  const all = (await tx<SessionMeta[]>(['meta'], 'readonly', (t) => t.objectStore('meta').getAll())) ?? [];
  const old = all.sort((a, b) => b.savedAt - a.savedAt).slice(MAX_SAVED_SESSIONS);
  for (const m of old) await deleteSession(m.uid);
}

/** Deletes a saved session (its files, work and recovered weights). */
export async function deleteSession(uid: string): Promise<void> {
  const ids =
    (await tx<IDBValidKey[]>(['recovered'], 'readonly', (t) =>
      t.objectStore('recovered').index('uid').getAllKeys(uid),
    )) ?? [];
  await tx(['meta', 'inputs', 'work', 'recovered'], 'readwrite', (t) => {
    t.objectStore('meta').delete(uid);
    t.objectStore('inputs').delete(uid);
    t.objectStore('work').delete(uid);
    for (const id of ids) t.objectStore('recovered').delete(id);
  });
}

/** Reads the recent-sessions list into the store, newest first. */
export async function refreshRecentSessions(): Promise<void> {
  if (!storageAvailable()) return;
  try {
    const all = (await tx<SessionMeta[]>(['meta'], 'readonly', (t) => t.objectStore('meta').getAll())) ?? [];
    set((s) => ({ persist: { ...s.persist, recent: all.sort((a, b) => b.savedAt - a.savedAt) } }));
  } catch (e) {
    set((s) => ({ persist: { ...s.persist, error: storageErrorText(e) } }));
  }
}

// ---------------------------------------------------------------------------------------------
// Restoring.

/** What opens a restored session: the page's open actions, passed in to keep this module below them. */
export interface SessionOpeners {
  openModel: (files: InputFile[], name: string, uid: string) => Promise<boolean>;
  openImages: (
    files: InputFile[],
    name: string,
    preprocess: PreprocessOptions | undefined,
    classNames: readonly string[] | undefined,
  ) => Promise<void>;
}

/**
 * Opens a saved session again: its model and sample files, then its history, results and recovered
 * weights (plans that no longer fit are dropped, which cannot happen for files kept as they were).
 */
export async function restoreSession(uid: string, open: SessionOpeners): Promise<boolean> {
  let saved: { inputs?: SessionInputs; work?: SessionWork; recovered?: RecoveredRecord[] };
  try {
    saved = {
      inputs: await tx<SessionInputs>(['inputs'], 'readonly', (t) => t.objectStore('inputs').get(uid)),
      work: await tx<SessionWork>(['work'], 'readonly', (t) => t.objectStore('work').get(uid)),
      recovered: await tx<RecoveredRecord[]>(['recovered'], 'readonly', (t) =>
        t.objectStore('recovered').index('uid').getAll(uid),
      ),
    };
  } catch (e) {
    set({ notice: storageErrorText(e) });
    return false;
  }
  const { inputs: inp, work } = saved;
  if (!inp) {
    set({ notice: 'That session is no longer kept in this browser.' });
    await refreshRecentSessions();
    return false;
  }
  const plss = inp.samples?.kind === 'plss' ? inp.samples.files : [];
  if (!(await open.openModel([...inp.model, ...plss], inp.modelName, uid))) return false;
  inputs = { ...inp };
  inputsDirty = false;
  if (inp.samples?.kind === 'images') {
    await open.openImages(
      inp.samples.files,
      inp.samples.name,
      work?.preprocess ?? undefined,
      work?.classNames ?? undefined,
    );
  }
  const session = get().session;
  if (!session || session.uid !== uid) return false;
  const history = asPlanHistory(work?.history);
  const fits = (plan: PruningPlanLike) =>
    validatePlan(session.graph, { version: 1, remove: plan.remove }).length === 0;
  if (history && history.steps.every((st) => fits(st.plan))) restorePlanHistory(history);
  const results: Record<string, PlanResults> = {};
  for (const [key, r] of Object.entries(work?.results ?? {})) {
    if (r && typeof r === 'object' && r.plan && fits(r.plan) && planKey(r.plan) === key) results[key] = r;
  }
  for (const rec of saved.recovered ?? []) {
    if (results[rec.planKey]?.recovered?.length) {
      putRecovered(session.id, rec.planKey, rec.artifacts);
      savedRecovered.add(rec.id);
    }
  }
  set({
    results,
    notice: `Restored session '${inp.modelName}': ${history?.steps.length ?? 1} steps of history.`,
  });
  return true;
}

type PruningPlanLike = { remove: Record<string, number[]> };

/** Starts autosaving: every change of the plan, its results or the inputs is written shortly after. */
export function startAutosave(): () => void {
  if (!storageAvailable()) return () => undefined;
  void refreshRecentSessions();
  return useWorkbench.subscribe((s, prev) => {
    if (!s.session) return;
    if (
      s.session !== prev.session ||
      s.history !== prev.history ||
      s.results !== prev.results ||
      s.sampleSet !== prev.sampleSet ||
      s.recover.images !== prev.recover.images
    ) {
      scheduleSave();
    }
  });
}

/** Asks before leaving while work is not saved yet (reload, close, Back). Returns the remover. */
export function installLeaveGuard(): () => void {
  const onBeforeUnload = (e: BeforeUnloadEvent) => {
    if (!hasUnsavedWork()) return;
    e.preventDefault();
    e.returnValue = '';
  };
  window.addEventListener('beforeunload', onBeforeUnload);
  return () => window.removeEventListener('beforeunload', onBeforeUnload);
}
