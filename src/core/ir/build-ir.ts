/**
 * artifacts -> model IR: parses a Sequential or Functional Keras topology, orders the layers
 * topologically, infers every layer's shapes with the rules table, and ties each manifest weight to
 * its layer and role, checking its shape against what the config implies. Inner code trusts the IR.
 */
import { ModelLoadError } from '../io/errors';
import {
  configInputShape,
  ruleFor,
  type AxisRole,
  type RuleLayer,
  type WeightSpec,
} from '../graph/layer-rules';
import type { ModelArtifactsData, WeightTensor } from './artifacts';
import type { KerasLayerJSON, KerasModelTopology } from './keras-json';
import type { LayerIR, LayerWeightRef, ModelIR, Shape } from './model-ir';

/** The part of a topology that holds `class_name` and `config` (tfjs-converted files nest it in `model_config`). */
export interface ModelConfigJSON {
  class_name: string;
  config: KerasModelTopology['config'];
}

function badTopology(message: string, layer?: string): ModelLoadError {
  return new ModelLoadError('BAD_TOPOLOGY', message, layer === undefined ? {} : { layer });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Finds the model config inside a `modelTopology` (direct, or under `model_config` as the tfjs converter writes it). */
export function modelConfigOf(topology: KerasModelTopology): ModelConfigJSON {
  const t = topology as unknown;
  if (!isRecord(t)) throw badTopology('The model topology is not a JSON object.');
  const inner = isRecord(t['model_config']) ? t['model_config'] : t;
  if (typeof inner['class_name'] !== 'string' || inner['config'] === undefined) {
    throw badTopology('The model topology has no class_name/config (is this a Keras LayersModel?).');
  }
  return inner as unknown as ModelConfigJSON;
}

/** The layer list of a Sequential (`{layers}` or a legacy bare array) or Functional config. */
export function topologyLayers(mc: ModelConfigJSON): KerasLayerJSON[] {
  const cfg = mc.config as unknown;
  const layers = Array.isArray(cfg) ? cfg : isRecord(cfg) ? cfg['layers'] : undefined;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw badTopology(`The ${mc.class_name} model lists no layers.`);
  }
  return layers.map((l: unknown, i) => {
    if (!isRecord(l) || typeof l['class_name'] !== 'string' || !isRecord(l['config'])) {
      throw badTopology(`Layer #${i} of the model is not a {class_name, config} object.`);
    }
    return l as unknown as KerasLayerJSON;
  });
}

function layerName(l: KerasLayerJSON, i: number): string {
  const name = l.config.name ?? l.name;
  if (typeof name !== 'string' || name === '')
    throw badTopology(`Layer #${i} (${l.class_name}) has no name.`);
  return name;
}

/** `[name, nodeIndex, tensorIndex]` references found anywhere in a Keras 2 / TF.js or Keras 3 node. */
function nodeRefs(node: unknown, layer: string): [string, number, number][] {
  const refs: [string, number, number][] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      // Keras 2 / TF.js: [layerName, nodeIndex, tensorIndex, kwargs?]
      if (typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        refs.push([v[0], v[1], v[2]]);
        return;
      }
      v.forEach(visit);
    } else if (isRecord(v)) {
      // Keras 3: {class_name: '__keras_tensor__', config: {keras_history: [name, node, tensor]}}
      const hist = isRecord(v['config']) ? v['config']['keras_history'] : undefined;
      if (Array.isArray(hist) && typeof hist[0] === 'string') {
        refs.push([hist[0], Number(hist[1] ?? 0), Number(hist[2] ?? 0)]);
        return;
      }
      if ('args' in v) visit(v['args']);
      else Object.values(v).forEach(visit);
    }
  };
  if (isRecord(node) && 'args' in node) visit(node['args']);
  else visit(node);
  if (refs.length === 0) throw badTopology(`Layer '${layer}' has an inbound node with no inputs.`, layer);
  return refs;
}

/** `input_layers` / `output_layers`: `[[name, 0, 0], ...]`, or a single `[name, 0, 0]` (Keras 3). */
function endpointNames(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw badTopology(`The Functional model has no ${what}.`);
  const list = typeof v[0] === 'string' ? [v] : v;
  return list.map((e: unknown) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string') {
      throw badTopology(`The Functional model's ${what} entry ${JSON.stringify(e)} is malformed.`);
    }
    return e[0];
  });
}

interface ParsedLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inbound: string[];
  index: number;
}

function parseSequential(layers: KerasLayerJSON[]): { parsed: ParsedLayer[]; inputs: string[] } {
  const parsed = layers.map((l, i) => ({
    name: layerName(l, i),
    className: l.class_name,
    config: l.config,
    inbound: [] as string[],
    index: i,
  }));
  for (let i = 1; i < parsed.length; i++) parsed[i]!.inbound = [parsed[i - 1]!.name];
  const first = parsed[0]!;
  if (first.className === 'InputLayer') return { parsed, inputs: [first.name] };
  return { parsed, inputs: [`${first.name}_input`] };
}

function parseFunctional(
  mc: ModelConfigJSON,
  layers: KerasLayerJSON[],
): { parsed: ParsedLayer[]; inputs: string[]; outputs: string[] } {
  const cfg = mc.config as Record<string, unknown>;
  const parsed = layers.map((l, i): ParsedLayer => {
    const name = layerName(l, i);
    const nodes = l.inbound_nodes ?? [];
    if (!Array.isArray(nodes)) throw badTopology(`Layer '${name}' has malformed inbound_nodes.`, name);
    if (nodes.length > 1) {
      throw new ModelLoadError(
        'UNSUPPORTED_LAYER',
        `Layer '${name}' is called ${nodes.length} times (shared weights), which PruneLab cannot analyse yet.`,
        { layer: name },
      );
    }
    const refs = nodes.length === 0 ? [] : nodeRefs(nodes[0], name);
    for (const [from, node, tensor] of refs) {
      if (node !== 0 || tensor !== 0) {
        throw new ModelLoadError(
          'UNSUPPORTED_LAYER',
          `Layer '${name}' reads output ${tensor} of call ${node} of '${from}' (a shared or multi-output layer), which PruneLab cannot analyse yet.`,
          { layer: name },
        );
      }
    }
    return { name, className: l.class_name, config: l.config, inbound: refs.map((r) => r[0]), index: i };
  });
  return {
    parsed,
    inputs: endpointNames(cfg['input_layers'], 'input_layers'),
    outputs: endpointNames(cfg['output_layers'], 'output_layers'),
  };
}

/** Stable topological order (file order when the file is already ordered, as Keras and tfjs write it). */
function topoSort(parsed: ParsedLayer[]): ParsedLayer[] {
  const byName = new Map(parsed.map((p) => [p.name, p]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: ParsedLayer[] = [];
  const visit = (p: ParsedLayer, path: string[]): void => {
    const s = state.get(p.name);
    if (s === 'done') return;
    if (s === 'visiting')
      throw badTopology(`The model has a cycle: ${[...path, p.name].join(' -> ')}.`, p.name);
    state.set(p.name, 'visiting');
    for (const from of p.inbound) {
      const q = byName.get(from);
      if (!q)
        throw badTopology(
          `Layer '${p.name}' takes its input from '${from}', which is not in the model.`,
          p.name,
        );
      visit(q, [...path, p.name]);
    }
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of parsed) visit(p, []);
  return out;
}

function fmt(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** Strips `:0` and splits a manifest name into scope segments and the role (last segment). */
function splitWeightName(name: string): { scopes: string[]; role: string } {
  const parts = name.replace(/:\d+$/, '').split('/');
  const role = parts.pop() ?? '';
  return { scopes: parts, role };
}

/** Finds the layer a weight belongs to: the segment before the role, else the whole prefix, else the nearest segment naming a layer. */
function ownerOf(scopes: string[], layerNames: Set<string>): string | undefined {
  const last = scopes[scopes.length - 1];
  if (last !== undefined && layerNames.has(last)) return last;
  const joined = scopes.join('/');
  if (layerNames.has(joined)) return joined;
  for (let i = scopes.length - 2; i >= 0; i--) if (layerNames.has(scopes[i]!)) return scopes[i];
  return undefined;
}

function expectedShape(spec: WeightSpec, inCh: number | null, outCh: number | null): (number | null)[] {
  return spec.axes.map((a: AxisRole) => {
    if (a.kind === 'fixed') return a.size;
    const ch = a.kind === 'in' ? inCh : outCh;
    return ch === null ? null : ch * a.factor;
  });
}

function bindWeights(
  layer: ParsedLayer,
  specs: WeightSpec[],
  found: { index: number; role: string; weight: WeightTensor }[],
  inCh: number | null,
  outCh: number | null,
): LayerWeightRef[] {
  const mismatch = (message: string) => new ModelLoadError('WEIGHT_MISMATCH', message, { layer: layer.name });
  // Keras 3 stores `vars/0..n`: numeric roles are taken in the class's creation order.
  let named = found;
  if (found.length > 0 && found.every((f) => /^\d+$/.test(f.role))) {
    const sorted = [...found].sort((a, b) => Number(a.role) - Number(b.role));
    named = sorted.map((f, i) => ({ ...f, role: specs[i]?.role ?? f.role }));
  }
  const byRole = new Map<string, (typeof named)[number]>();
  for (const f of named) {
    if (byRole.has(f.role)) {
      throw mismatch(`Layer '${layer.name}' (${layer.className}) has two weights with role '${f.role}'.`);
    }
    if (!specs.some((s) => s.role === f.role)) {
      throw mismatch(
        `Layer '${layer.name}' (${layer.className}) has an unexpected weight '${f.weight.name}' of shape ${fmt(f.weight.shape)}; its config implies ${specs.length === 0 ? 'no weights' : `only ${specs.map((s) => `'${s.role}'`).join(', ')}`}.`,
      );
    }
    byRole.set(f.role, f);
  }
  return specs.map((spec) => {
    const want = expectedShape(spec, inCh, outCh);
    const f = byRole.get(spec.role);
    if (!f) {
      throw mismatch(
        `Layer '${layer.name}' (${layer.className}) has no weight '${spec.role}' (expected shape ${fmt(want)}) in the weights manifest.`,
      );
    }
    const got = f.weight.shape;
    if (got.length !== want.length || want.some((d, i) => d !== null && d !== got[i])) {
      throw mismatch(
        `Weight '${spec.role}' of layer '${layer.name}' (${layer.className}) has shape ${fmt(got)}, but the layer's config and input imply ${fmt(want)} (manifest name '${f.weight.name}').`,
      );
    }
    return { role: spec.role, weightIndex: f.index, shape: [...got] };
  });
}

/**
 * Builds the IR of a Sequential or Functional LayersModel; throws `ModelLoadError` (`BAD_TOPOLOGY`,
 * `UNSUPPORTED_LAYER`, `WEIGHT_MISMATCH`) naming the layer at fault.
 * Example: a Sequential `[Conv2D 'c1' (batch_input_shape [null,28,28,1], 8 filters 3x3 valid), Flatten 'f']`
 * gives layers `c1: [null,28,28,1] -> [null,26,26,8]` (weights kernel `[3,3,1,8]`, bias `[8]`) and
 * `f: -> [null,5408]`, with `outputs = ['f']`.
 */
export function buildModelIR(a: ModelArtifactsData): ModelIR {
  const mc = modelConfigOf(a.modelTopology);
  const layers = topologyLayers(mc);
  const cls = mc.class_name;
  const isSequential = cls === 'Sequential';
  if (!isSequential && cls !== 'Model' && cls !== 'Functional') {
    throw badTopology(`The model's class is '${cls}'; PruneLab reads Sequential and Functional models.`);
  }
  const seq = isSequential ? parseSequential(layers) : undefined;
  const fun = isSequential ? undefined : parseFunctional(mc, layers);
  const parsed = seq?.parsed ?? fun!.parsed;

  const seen = new Set<string>();
  for (const p of parsed) {
    if (seen.has(p.name)) throw badTopology(`Two layers are named '${p.name}'.`, p.name);
    seen.add(p.name);
  }
  for (const p of parsed) {
    if (!ruleFor(p.className)) {
      throw new ModelLoadError(
        'UNSUPPORTED_LAYER',
        `Layer '${p.name}' has class '${p.className}', which PruneLab cannot analyse yet.`,
        { layer: p.name },
      );
    }
  }
  const ordered = topoSort(parsed);

  // Sequential without an InputLayer: the first layer's config carries the input shape.
  let seqInputShape: Shape | undefined;
  if (seq && parsed[0]!.className !== 'InputLayer') {
    const first = parsed[0]!;
    seqInputShape = configInputShape(first);
    if (!seqInputShape) {
      throw badTopology(
        `The Sequential model does not say its input shape: its first layer '${first.name}' has no batch_input_shape.`,
        first.name,
      );
    }
  }

  // Shapes, in topological order.
  const shapes = new Map<string, { input: Shape[]; output: Shape }>();
  for (const p of ordered) {
    const rule = ruleFor(p.className)!;
    const rl: RuleLayer = { name: p.name, className: p.className, config: p.config };
    if (rule.behaviour === 'input' && p.inbound.length > 0) {
      throw badTopology(`InputLayer '${p.name}' has an inbound layer.`, p.name);
    }
    if (rule.behaviour !== 'input' && p.inbound.length === 0 && !(seq && p.index === 0)) {
      throw badTopology(`Layer '${p.name}' (${p.className}) has no input.`, p.name);
    }
    const input =
      seq && p.index === 0 && seqInputShape
        ? [seqInputShape]
        : p.inbound.map((from) => shapes.get(from)!.output);
    const output = rule.outputShape(rl, input);
    shapes.set(p.name, { input, output });
  }

  // Weights: manifest name -> layer + role.
  const names = new Set(parsed.map((p) => p.name));
  const byLayer = new Map<string, { index: number; role: string; weight: WeightTensor }[]>();
  a.weights.forEach((weight, index) => {
    const { scopes, role } = splitWeightName(weight.name);
    const owner = ownerOf(scopes, names);
    if (owner === undefined) {
      throw new ModelLoadError(
        'WEIGHT_MISMATCH',
        `Weight '${weight.name}' (shape ${fmt(weight.shape)}) does not belong to any layer of the model.`,
      );
    }
    const n = weight.shape.reduce((x, d) => x * d, 1);
    if (n !== weight.values.length) {
      throw new ModelLoadError(
        'WEIGHT_MISMATCH',
        `Weight '${weight.name}' has shape ${fmt(weight.shape)} (${n} values) but holds ${weight.values.length} values.`,
        { layer: owner },
      );
    }
    const list = byLayer.get(owner) ?? [];
    list.push({ index, role, weight });
    byLayer.set(owner, list);
  });

  const irLayers: LayerIR[] = ordered.map((p) => {
    const rule = ruleFor(p.className)!;
    const rl: RuleLayer = { name: p.name, className: p.className, config: p.config };
    const { input, output } = shapes.get(p.name)!;
    const inputShape = input[0] ?? output;
    const specs = rule.weights?.(rl, inputShape) ?? [];
    const inCh = inputShape[inputShape.length - 1] ?? null;
    const outCh = output[output.length - 1] ?? null;
    const weights = bindWeights(p, specs, byLayer.get(p.name) ?? [], inCh, outCh);
    return {
      index: p.index,
      name: p.name,
      className: p.className,
      config: p.config,
      inbound: p.inbound,
      weights,
      inputShape: [...inputShape],
      outputShape: output,
    };
  });

  const outputs = seq ? [ordered[ordered.length - 1]!.name] : fun!.outputs;
  const inputs = seq ? seq.inputs : fun!.inputs;
  for (const n of [...outputs, ...(seq ? [] : inputs)]) {
    if (!names.has(n)) throw badTopology(`The model's inputs/outputs name '${n}', which is not a layer.`);
  }
  const first = irLayers.find((l) => l.name === inputs[0]);
  const cfg = mc.config as unknown;
  const modelName = isRecord(cfg) && typeof cfg['name'] === 'string' ? cfg['name'] : 'model';
  return {
    name: modelName,
    kind: seq ? 'sequential' : 'functional',
    layers: irLayers,
    outputs,
    inputs,
    inputShape: [...(seqInputShape ?? first?.outputShape ?? irLayers[0]!.inputShape)],
  };
}
