/**
 * A pruning plan is plain JSON data: for each producer layer (a layer that owns output channels,
 * e.g. Conv2D `filters` or Dense `units`), the output channels to remove, in the original indexing.
 * Example: `{ version: 1, remove: { conv2d_1: [0, 5, 7] } }` removes filters 0, 5 and 7 of conv2d_1,
 * and surgery also removes the matching BatchNorm entries and the next layer's input slices.
 */
export interface PruningPlan {
  version: 1;
  /** producer layer name -> original output-channel indices to remove (sorted, unique). */
  remove: Record<string, number[]>;
  /** Optional description of how the plan was made (criterion, ratio...). Informational only. */
  note?: string;
}

/** The empty plan: applying it returns a model identical to the input. */
export function emptyPlan(): PruningPlan {
  return { version: 1, remove: {} };
}
