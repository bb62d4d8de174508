/**
 * One layout per model, computed once in a worker (layout.worker.ts) and cached by the model
 * object, so re-renders, ticks and pans never lay out again. Falls back to laying out on the page's
 * thread, after a frame, where workers cannot start.
 */
import { layoutGraph, type GraphLayout, type LayoutInput } from './layout';

const cache = new WeakMap<object, Promise<GraphLayout>>();
let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve: (l: GraphLayout) => void; reject: (e: Error) => void }>();

function layoutHere(input: LayoutInput): Promise<GraphLayout> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      try {
        resolve(layoutGraph(input));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    }, 0);
  });
}

function startWorker(): Worker | null {
  if (worker || typeof Worker === 'undefined') return worker;
  try {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
  } catch {
    return null;
  }
  worker.onmessage = (e: MessageEvent<{ id: number; layout?: GraphLayout; error?: string }>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (!p) return;
    if (e.data.layout) p.resolve(e.data.layout);
    else p.reject(new Error(e.data.error ?? 'layout failed'));
  };
  worker.onerror = () => {
    // A worker that cannot load (a strict CSP, an old browser): lay out here instead, from now on.
    const waiting = [...pending.values()];
    pending.clear();
    worker?.terminate();
    worker = null;
    disabled = true;
    for (const p of waiting) p.reject(new Error('layout worker failed'));
  };
  return worker;
}
let disabled = false;

function layoutOffThread(input: LayoutInput): Promise<GraphLayout> {
  const w = disabled ? null : startWorker();
  if (!w) return layoutHere(input);
  const id = nextId++;
  return new Promise<GraphLayout>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, input: { nodes: input.nodes.map((n) => ({ name: n.name })), edges: input.edges } });
  }).catch(() => layoutHere(input));
}

/** The layout of `model`, the same promise for the same model object. */
export function layoutFor(model: LayoutInput): Promise<GraphLayout> {
  let p = cache.get(model);
  if (!p) {
    p = layoutOffThread(model);
    cache.set(model, p);
  }
  return p;
}
