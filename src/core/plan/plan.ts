/**
 * A pruning plan is plain JSON data: for each group of coupled channels, the group channels to
 * remove, in the original indexing. The plan names a group by a producer layer (a layer that owns
 * output channels, e.g. Conv2D `filters` or Dense `units`).
 *
 * Example: `{ version: 1, remove: { conv2d_1: [0, 5, 7] } }` removes filters 0, 5 and 7 of conv2d_1,
 * and surgery also removes the matching BatchNorm entries and the next layer's input slices.
 *
 * **Coupled groups.** When an elementwise merge couples several producers into one group (a residual
 * stage: `conv_a -> Add <- conv_b`), the group's channels are one set: channel 3 is filter 3 of every
 * producer in it, and removing it removes filter 3 of all of them. The plan names such a group by its
 * *first producer in topological order*, `group.producer` (every producer is listed in
 * `group.producers`). Any other producer of the group is accepted as an alias with the same meaning,
 * so `{remove: {conv_b: [3]}}` equals `{remove: {conv_a: [3]}}`. A plan that names one group twice
 * must give the same channels under both names; `validatePlan` rejects different lists.
 * `canonicalizePlan` rewrites aliases to `group.producer`, and surgery records the canonical plan in
 * the provenance record (`userDefinedMetadata.prunelab.plan`).
 */
export interface PruningPlan {
  version: 1;
  /** group (named by a producer layer, canonically `group.producer`) -> original channel indices to remove (sorted, unique). */
  remove: Record<string, number[]>;
  /** Optional description of how the plan was made (criterion, ratio...). Informational only. */
  note?: string;
  /**
   * The model a saved plan was made for: `modelFingerprint` (io/fingerprint.ts) of its layer names,
   * classes and weight shapes. Checked when a plan file is opened again; absent in older plans.
   */
  model?: { fingerprint: string; name?: string };
}

/** Checks that a saved plan was made for this model; returns the problem in words, or null. */
export function planModelMismatch(plan: PruningPlan, fingerprint: string, modelName: string): string | null {
  if (!plan.model?.fingerprint || plan.model.fingerprint === fingerprint) return null;
  return (
    `This plan was made for ${plan.model.name ? `model '${plan.model.name}'` : 'another model'} ` +
    `(fingerprint ${plan.model.fingerprint}), not for '${modelName}' (fingerprint ${fingerprint}): ` +
    'its layers, classes or weight shapes differ.'
  );
}

/** The empty plan: applying it returns a model identical to the input. */
export function emptyPlan(): PruningPlan {
  return { version: 1, remove: {} };
}
