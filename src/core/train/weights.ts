/**
 * Weight snapshots as plain arrays: what "keep the best weights so far" holds between epochs. Plain
 * Float32Arrays (not tensors) so a snapshot costs no backend memory, survives a backend switch, and
 * cannot leak.
 */
import * as tf from '@tensorflow/tfjs';

/** Every weight of a model (trainable and not, e.g. BN moving statistics), in `model.weights` order. */
export interface WeightSnapshot {
  names: string[];
  shapes: number[][];
  values: (Float32Array | Int32Array)[];
}

/** Copies every weight of `model` to plain arrays (`await data()`, no blocking read). */
export async function snapshotWeights(model: tf.LayersModel): Promise<WeightSnapshot> {
  const weights = model.weights;
  const values = await Promise.all(
    weights.map(async (w) => {
      const data = await w.read().data();
      return data instanceof Int32Array ? Int32Array.from(data) : Float32Array.from(data as Float32Array);
    }),
  );
  return {
    names: weights.map((w) => w.originalName),
    shapes: weights.map((w) => w.shape.map((d) => d ?? 0)),
    values,
  };
}

/** Writes a snapshot back into the model it was taken from (same weights, same order and shapes). */
export function restoreWeights(model: tf.LayersModel, snapshot: WeightSnapshot): void {
  const weights = model.weights;
  if (weights.length !== snapshot.values.length) {
    throw new Error(
      `Snapshot has ${snapshot.values.length} weights, model '${model.name}' ${weights.length}.`,
    );
  }
  tf.tidy(() => {
    weights.forEach((w, i) => {
      const shape = snapshot.shapes[i]!;
      if (shape.join(',') !== w.shape.join(',')) {
        throw new Error(
          `Snapshot weight '${snapshot.names[i]!}' is [${shape.join(', ')}], the model's [${w.shape.join(', ')}].`,
        );
      }
      const v = snapshot.values[i]!;
      w.write(tf.tensor(v, shape, v instanceof Int32Array ? 'int32' : 'float32'));
    });
  });
}
