/**
 * A Keras topology in the form plain `@tensorflow/tfjs` reads with `tf.loadLayersModel` (no PruneLab
 * code): Keras-only class names are translated to tfjs's (`L2`/`L1` regularizers -> `L1L2`, the same
 * penalty; `LecunNormal` -> `LeCunNormal`; activation `silu` -> `swish`) or, where tfjs has no
 * counterpart and the value cannot change what the model computes (initializers, regularizers,
 * constraints, a mixed-precision dtype policy), dropped with a note for the provenance record.
 * An activation tfjs lacks changes the outputs, so it is refused by name instead.
 *
 * Example: ResNet-8 from `.h5` has `kernel_regularizer: {class_name: 'L2', config: {l2: 1e-4}}` on
 * every Conv2D; tfjs 4.22 throws "Unknown regularizer: L2" on it, and reads `L1L2 {l1: 0, l2: 1e-4}`.
 */
import * as tf from '@tensorflow/tfjs';
import type { KerasModelTopology } from '../ir/keras-json';
import { keras3HardSigmoidLayer } from './tf-artifacts';

/** Keras spellings of initializers tfjs registers under another name (tf-artifacts.ts uses the same). */
const INITIALIZER_NAMES: Readonly<Record<string, string>> = {
  LecunNormal: 'LeCunNormal',
  LecunUniform: 'LeCunUniform',
  IdentityInitializer: 'Identity',
  OrthogonalInitializer: 'Orthogonal',
};

/** Activation names a tfjs 4.22 model.json may use (checked one by one with plain loadLayersModel). */
const TFJS_ACTIVATIONS: ReadonlySet<string> = new Set([
  'elu',
  'selu',
  'relu',
  'relu6',
  'linear',
  'sigmoid',
  'hard_sigmoid',
  'softplus',
  'softsign',
  'tanh',
  'softmax',
  'log_softmax',
  'gelu',
  'mish',
  'swish',
]);

/** Same functions, tfjs's name. */
const ACTIVATION_NAMES: Readonly<Record<string, string>> = { silu: 'swish' };

/** Weight dtypes tfjs layers run in; anything else (mixed_float16, bfloat16...) is computed in float32 here. */
const TFJS_DTYPES: ReadonlySet<string> = new Set(['float32', 'int32', 'bool']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tfjsKnows(className: string): boolean {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
  return Object.prototype.hasOwnProperty.call(map, className);
}

/** A model entry: a config with a `layers` list (or a Keras 1 list config). */
function layersOf(entry: Record<string, unknown>): unknown[] | undefined {
  const cfg = entry['config'];
  if (Array.isArray(cfg)) return cfg as unknown[];
  return isRecord(cfg) && Array.isArray(cfg['layers']) ? (cfg['layers'] as unknown[]) : undefined;
}

/** Thrown for what cannot be written as a TF.js model without changing its outputs. */
export class TfjsExportError extends Error {}

/** Fixes one layer config in place (a copy); returns notes on what changed. */
function fixLayerConfig(layer: string, config: Record<string, unknown>, notes: string[]): void {
  for (const [key, v] of Object.entries(config)) {
    const kind = key.endsWith('_initializer')
      ? 'initializer'
      : key.endsWith('_regularizer')
        ? 'regularizer'
        : key.endsWith('_constraint')
          ? 'constraint'
          : undefined;
    if (kind !== undefined && isRecord(v) && typeof v['class_name'] === 'string') {
      const cls = v['class_name'];
      const c = isRecord(v['config']) ? v['config'] : {};
      if (kind === 'regularizer' && (cls === 'L2' || cls === 'L1')) {
        config[key] = { class_name: 'L1L2', config: { l1: Number(c['l1'] ?? 0), l2: Number(c['l2'] ?? 0) } };
        notes.push(`'${layer}' ${key} ${cls} written as L1L2 (the same penalty; tfjs has no ${cls} class).`);
        continue;
      }
      const renamed = kind === 'initializer' ? INITIALIZER_NAMES[cls] : undefined;
      if (renamed !== undefined) {
        config[key] = { ...v, class_name: renamed };
        notes.push(`'${layer}' ${key} ${cls} written as ${renamed} (tfjs's name).`);
        continue;
      }
      if (!tfjsKnows(cls)) {
        // Initializers only make fresh weights and regularizers/constraints act in training: the
        // exported model computes the same without them.
        if (kind === 'initializer') delete config[key];
        else config[key] = null;
        notes.push(`'${layer}' ${key} ${cls} dropped: TensorFlow.js has no such ${kind}.`);
      }
      continue;
    }
    if (kind !== undefined && typeof v === 'string' && !tfjsKnows(v) && kind !== 'initializer') {
      // A bare name ('l2') is not something tfjs reads either.
      config[key] = null;
      notes.push(`'${layer}' ${key} '${v}' dropped: TensorFlow.js has no such ${kind}.`);
      continue;
    }
    if (key === 'activation' && typeof v === 'string') {
      const renamed = ACTIVATION_NAMES[v];
      if (renamed !== undefined) {
        config[key] = renamed;
        notes.push(`'${layer}' activation '${v}' written as '${renamed}' (the same function, tfjs's name).`);
      } else if (!TFJS_ACTIVATIONS.has(v)) {
        throw new TfjsExportError(
          `Layer '${layer}' uses activation '${v}', which TensorFlow.js does not have: export it as .keras or .h5 instead.`,
        );
      }
      continue;
    }
    if (key === 'dtype') {
      const name = isRecord(v) && isRecord(v['config']) ? v['config']['name'] : v;
      if (typeof name === 'string' && !TFJS_DTYPES.has(name)) {
        config[key] = 'float32';
        notes.push(
          `'${layer}' dtype '${name}' written as 'float32' (TensorFlow.js layers compute in float32).`,
        );
      } else if (name !== v && typeof name === 'string') config[key] = name;
    }
  }
}

/**
 * The topology with every layer config made loadable by plain tfjs, and a note for each change
 * (the same change on many layers is summarised once per kind). Functional entries also get the
 * top-level `name` and `inbound_nodes` tfjs's `Container.fromConfig` needs. Never mutates its input.
 * Throws `TfjsExportError` for an activation tfjs lacks, and for Keras 3's `hard_sigmoid`, which tfjs
 * computes as another function (`keras3HardSigmoidLayer`).
 */
export function tfjsPortableTopology(topology: KerasModelTopology): {
  topology: KerasModelTopology;
  notes: string[];
} {
  const hard = keras3HardSigmoidLayer(topology);
  if (hard !== undefined) {
    throw new TfjsExportError(
      `Layer '${hard}' uses Keras 3's hard_sigmoid, relu6(x + 3) / 6; TensorFlow.js's hard_sigmoid is 0.2x + 0.5 clipped to [0, 1], another function: export it as .keras or .h5 instead.`,
    );
  }
  const out = structuredClone(topology) as unknown as Record<string, unknown>;
  const notes: string[] = [];
  const walk = (model: Record<string, unknown>, depth: number): void => {
    const layers = layersOf(model);
    if (!layers || depth > 32) return;
    const functional = model['class_name'] !== 'Sequential';
    for (const e of layers) {
      if (!isRecord(e) || !isRecord(e['config'])) continue;
      const name = typeof e['config']['name'] === 'string' ? e['config']['name'] : '?';
      if (functional && e['name'] === undefined && name !== '?') e['name'] = name;
      if (functional && e['inbound_nodes'] === undefined) e['inbound_nodes'] = [];
      if (layersOf(e)) walk(e, depth + 1);
      else fixLayerConfig(name, e['config'], notes);
    }
  };
  walk(out, 0);
  return { topology: out as unknown as KerasModelTopology, notes: summarise(notes) };
}

/** One note per distinct change with the layers it applied to: "'a', 'b' and 3 more kernel_regularizer L2 ...". */
function summarise(notes: string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const n of notes) {
    const m = /^'([^']*)' (.*)$/s.exec(n);
    const [layer, rest] = m ? [m[1]!, m[2]!] : ['', n];
    groups.set(rest, [...(groups.get(rest) ?? []), layer]);
  }
  return [...groups].map(([rest, layers]) => {
    const shown = layers.slice(0, 3).map((l) => `'${l}'`);
    const more = layers.length > 3 ? ` and ${layers.length - 3} more` : '';
    return `${shown.join(', ')}${more}: ${rest}`;
  });
}
