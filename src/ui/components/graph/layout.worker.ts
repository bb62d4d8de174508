/**
 * Lays out a model graph off the page's thread: dagre takes ~150 ms on InceptionV3's 313 layers,
 * too long to run in a React render. Message in: `LayoutInput` plus an id; out: the id and the
 * `GraphLayout`, or the error's message.
 */
import { layoutGraph, type LayoutInput } from './layout';

self.onmessage = (e: MessageEvent<{ id: number; input: LayoutInput }>) => {
  const { id, input } = e.data;
  try {
    self.postMessage({ id, layout: layoutGraph(input) });
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
