/**
 * Where data-based criteria look at a group's channels, and an eager runner that lets them look.
 *
 * **Observation points.** A group's channels are observed on each producer's output after the
 * per-value layers that follow it alone: `conv -> BN -> ReLU` is observed after the ReLU (APoZ and
 * mean activation are defined on post-activation values), `conv -> BN -> Add` after the BN (the
 * branch's contribution to a residual stream), a Dense with `activation: 'relu'` on its own output.
 * The walk stops at a layer that mixes positions or channels (pooling, a merge, a depthwise conv) or
 * when the tensor feeds more than one layer, so every point still has exactly the producer's
 * channels, 1:1. A coupled group (several producers) has one point per producer; the criteria
 * reduce over them like the weight-based ones do over kernels.
 *
 * **Eager runner.** `runLayers` executes a `tf.LayersModel` layer by layer on concrete tensors,
 * following the symbolic graph the model was built from (`SymbolicTensor.inputs`), and calls a hook
 * on every layer's output, which may replace it (Taylor multiplies it by a gate of ones and asks for
 * the gradient of the gate: `d loss / d gate_c = sum over batch and positions of a_c * dL/da_c`).
 * Unlike a multi-output `tf.model`, it needs no new graph (re-applying layers would add inbound nodes
 * and reference counts to the caller's model, so its later `dispose()` would leak weights), it frees
 * each intermediate as soon as its last reader ran, and it reaches inside nested models: a layer
 * `conv1` of nested model `base` is reported as `base/conv1`, the IR's scoped name.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerIR, ModelIR } from '../ir/model-ir';
import type { ChannelGraph } from '../graph/types';
import { isPerValue } from '../ir/layer-rules';

/** Whether the walk from a producer passes this layer: it acts on each value alone (the rules table's `perValue`). */
function passesValues(layer: LayerIR): boolean {
  return isPerValue({ name: layer.name, className: layer.className, config: layer.config });
}

/** Where one producer's channels are observed. */
export interface ObservationPoint {
  /** Group id (index into `graph.groups`). */
  group: number;
  /** The producer whose channels these are. */
  producer: string;
  /** The layer (IR scoped name) whose output is observed: the producer or the last per-value layer after it. */
  layer: string;
  /** Channels on the observed tensor's last axis (= the group's size). */
  channels: number;
}

/**
 * One point per producer of every group, in group order. Example: `c1 -> bn1 -> relu1 -> pool1 -> c2`
 * gives `{producer: 'c1', layer: 'relu1'}`; a residual group `{a -> bn_a -> add <- b}` gives
 * `{a, bn_a}` and `{b, b}`.
 */
export function observationPoints(ir: ModelIR, graph: ChannelGraph): ObservationPoint[] {
  const byName = new Map(ir.layers.map((l) => [l.name, l]));
  const readers = new Map<string, LayerIR[]>();
  for (const l of ir.layers) {
    for (const n of l.inbound) readers.set(n, [...(readers.get(n) ?? []), l]);
  }
  const outputs = new Set(ir.outputs);
  const points: ObservationPoint[] = [];
  for (const g of graph.groups) {
    const inGroup = new Set(g.members.map((m) => m.layer));
    const producers = g.producers.length > 0 ? g.producers : [g.producer];
    for (const producer of producers) {
      let at = byName.get(producer);
      if (!at) throw new Error(`'${producer}' is not a layer of the model.`);
      for (;;) {
        const next = readers.get(at.name);
        const only = next?.length === 1 ? next[0] : undefined;
        if (outputs.has(at.name) || !only || only.inbound.length !== 1) break;
        if (!passesValues(only) || !inGroup.has(only.name)) break;
        at = only;
      }
      points.push({ group: g.id, producer, layer: at.name, channels: g.size });
    }
  }
  return points;
}

/** Called with each layer's output (scoped name); returns the tensor the rest of the model sees. */
export type LayerHook = (layer: string, output: tf.Tensor) => tf.Tensor;

export interface RunOptions {
  /** Dispose each intermediate once its last reader ran (not while recording gradients). Default true. */
  freeEarly?: boolean;
  /**
   * Run inference-mode BatchNormalization (on the last axis) as `x * scale + shift`, with
   * `scale = gamma / sqrt(var + eps)` and `shift = beta - mean * scale`: the same function, but its
   * gradient is one multiply, where tfjs' `FusedBatchNorm` gradient tiles its vectors to the full
   * activation size (measured on MobileNetV2, wasm: a third of a Taylor batch). Default false.
   */
  affineBatchNorm?: boolean;
}

/**
 * Inference BatchNormalization on the last axis as one multiply-add, or undefined when the layer
 * normalises another axis. Weights in tfjs' creation order: gamma (when `scale`), beta (when
 * `center`), moving mean, moving variance.
 */
function affineBatchNorm(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor | undefined {
  const config = layer.getConfig();
  const raw = config['axis'] ?? -1;
  const axis = Array.isArray(raw) && raw.length === 1 ? (raw[0] as unknown) : raw;
  if (axis !== -1 && axis !== x.rank - 1) return undefined;
  const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
  const weights = layer.weights.map((w) => w.read());
  const gamma = config['scale'] !== false ? weights.shift() : undefined;
  const beta = config['center'] !== false ? weights.shift() : undefined;
  const [mean, variance] = weights;
  if (!mean || !variance) return undefined;
  const inv = tf.rsqrt(tf.add(variance, epsilon));
  const scale = gamma ? tf.mul(inv, gamma) : inv;
  const shift = tf.sub(beta ?? tf.zerosLike(mean), tf.mul(mean, scale));
  return tf.add(tf.mul(x, scale), shift);
}

/** The layer's `LayersModel` when it is a nested model (a Functional or Sequential used as a layer). */
function asContainer(layer: tf.layers.Layer): tf.LayersModel | undefined {
  return layer instanceof tf.LayersModel ? layer : undefined;
}

/** Runs the graph of `container` on `inputs`; `prefix` scopes its layer names (`'base/'`). */
function runContainer(
  container: tf.LayersModel,
  inputs: readonly tf.Tensor[],
  prefix: string,
  hook: LayerHook | undefined,
  options: RunOptions,
): tf.Tensor[] {
  const freeEarly = options.freeEarly ?? true;
  if (inputs.length !== container.inputs.length) {
    throw new Error(
      `Model '${container.name}' takes ${container.inputs.length} inputs, but ${inputs.length} were given.`,
    );
  }
  const values = new Map<number, tf.Tensor>();
  container.inputs.forEach((s, i) => values.set(s.id, inputs[i]!));
  const given = new Set(inputs);
  // Readers per symbolic tensor, to free intermediates after their last use.
  const pending = new Map<number, number>();
  const order: tf.SymbolicTensor[] = [];
  const seen = new Set<number>();
  const visit = (root: tf.SymbolicTensor) => {
    // Iterative post-order: deep models (InceptionV3: 300+ layers) would strain recursion.
    const stack: [tf.SymbolicTensor, boolean][] = [[root, false]];
    while (stack.length > 0) {
      const [s, expanded] = stack.pop()!;
      if (expanded) {
        order.push(s);
        continue;
      }
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      if (values.has(s.id)) continue;
      stack.push([s, true]);
      for (const x of s.inputs) {
        pending.set(x.id, (pending.get(x.id) ?? 0) + 1);
        stack.push([x, false]);
      }
    }
  };
  for (const out of container.outputs) {
    visit(out);
    pending.set(out.id, (pending.get(out.id) ?? 0) + 1);
  }
  // One call per (layer, inputs): siblings of a multi-output layer share it.
  const calls = new Map<string, tf.Tensor[]>();
  for (const s of order) {
    if (values.has(s.id)) continue;
    const layer = s.sourceLayer;
    const ins = s.inputs.map((x) => {
      const v = values.get(x.id);
      if (!v) throw new Error(`Layer '${layer.name}' reads a tensor that was not computed.`);
      return v;
    });
    const key = `${layer.name}|${s.inputs.map((x) => x.id).join(',')}`;
    let outs = calls.get(key);
    if (!outs) {
      const nested = asContainer(layer);
      const affine =
        options.affineBatchNorm && ins.length === 1 && layer.getClassName() === 'BatchNormalization'
          ? affineBatchNorm(layer, ins[0]!)
          : undefined;
      if (nested) outs = runContainer(nested, ins, `${prefix}${layer.name}/`, hook, options);
      else if (affine) outs = [affine];
      else {
        const r = layer.apply(ins.length === 1 ? ins[0]! : ins, { ...s.callArgs, training: false });
        outs = (Array.isArray(r) ? r : [r]) as tf.Tensor[];
      }
      if (hook && outs.length === 1) outs = [hook(`${prefix}${layer.name}`, outs[0]!)];
      calls.set(key, outs);
    }
    const out = outs[s.outputTensorIndex ?? 0];
    if (!out) throw new Error(`Layer '${layer.name}' returned no output ${s.outputTensorIndex ?? 0}.`);
    values.set(s.id, out);
    if (freeEarly) {
      for (const x of s.inputs) {
        const left = (pending.get(x.id) ?? 0) - 1;
        pending.set(x.id, left);
        const v = values.get(x.id);
        if (left === 0 && v && !given.has(v) && !outs.includes(v)) v.dispose();
      }
    }
  }
  return container.outputs.map((s) => values.get(s.id)!);
}

/**
 * Runs `model` on `inputs` (one tensor per model input) layer by layer in inference mode, calling
 * `hook` on every single-output layer's output with its IR scoped name, and returns the model's
 * outputs. Call it inside `tf.tidy` (or a gradient function): intermediates not freed early are
 * left to the caller's scope.
 */
export function runLayers(
  model: tf.LayersModel,
  inputs: tf.Tensor | readonly tf.Tensor[],
  hook?: LayerHook,
  options: RunOptions = {},
): tf.Tensor[] {
  const list = inputs instanceof tf.Tensor ? [inputs] : [...inputs];
  return runContainer(model, list, '', hook, options);
}
