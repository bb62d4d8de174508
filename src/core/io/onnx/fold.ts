/**
 * Shape arithmetic, folded. PyTorch exports with a dynamic batch compute reshape targets and slice
 * bounds at run time: `x.view(x.size(0), -1)` is Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
 * ShuffleNet's `chunk(2, dim=1)` is Shape -> Gather -> Add -> Div -> Mul -> Slice. When every size but
 * the batch is known these are constants; this evaluates them on small integer tensors.
 *
 * The batch is unknown, so the graph is folded twice, with batch 3 and batch 5: a value equal in both
 * runs is a constant; an entry that differs depends on the batch (Reshape keeps it as the batch axis).
 * Example: for input `[batch, 32, 7, 7]`, `Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])` folds to
 * `[3, -1]` and `[5, -1]`: entry 0 is the batch, entry 1 is the constant -1.
 */
import type { NodeProto, TensorValue } from './proto';
import { attrInt, attrInts, DTYPE } from './proto';

/** Known tensors: initializers, Constant outputs and folded results, by name. */
export type Folded = Map<string, TensorValue>;

const INT = DTYPE.INT64;

function scalarOrList(values: number[], dims?: number[]): TensorValue {
  return { dims: dims ?? [values.length], dtype: INT, values: Float64Array.from(values) };
}

function broadcast(
  a: TensorValue,
  b: TensorValue,
  f: (x: number, y: number) => number,
): TensorValue | undefined {
  const n = Math.max(a.values.length, b.values.length);
  if (a.values.length !== n && a.values.length !== 1) return undefined;
  if (b.values.length !== n && b.values.length !== 1) return undefined;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = f(a.values[a.values.length === 1 ? 0 : i]!, b.values[b.values.length === 1 ? 0 : i]!);
  return { dims: a.values.length >= b.values.length ? a.dims : b.dims, dtype: a.dtype, values: out };
}

/**
 * Evaluates one node whose inputs are all known, or returns `undefined` (not shape arithmetic, or an
 * op this folder does not know). `shapes` gives the NCHW shape of feature tensors for `Shape`.
 */
function evaluate(
  node: NodeProto,
  ins: (TensorValue | undefined)[],
  shapeOf: (name: string) => number[] | undefined,
): TensorValue | undefined {
  const op = node.opType ?? '';
  const [a, b] = ins;
  switch (op) {
    case 'Shape': {
      const s = shapeOf(node.input![0]!);
      return s ? scalarOrList(s) : undefined;
    }
    case 'Identity':
    case 'Cast':
      return a && { ...a, dtype: op === 'Cast' ? attrInt(node, 'to', a.dtype) : a.dtype };
    case 'Gather': {
      if (!a || !b || attrInt(node, 'axis', 0) !== 0 || a.dims.length !== 1) return undefined;
      const picked = Array.from(b.values, (i) => a.values[i < 0 ? a.values.length + i : i]!);
      return scalarOrList(picked, b.dims);
    }
    case 'Unsqueeze':
    case 'Squeeze':
      return (
        a && {
          dims: op === 'Unsqueeze' && a.dims.length === 0 ? [1] : [a.values.length],
          dtype: a.dtype,
          values: a.values,
        }
      );
    case 'Concat':
      if (ins.some((t) => !t) || attrInt(node, 'axis', 0) !== 0) return undefined;
      return scalarOrList(ins.flatMap((t) => Array.from(t!.values)));
    case 'Add':
      return a && b && broadcast(a, b, (x, y) => x + y);
    case 'Sub':
      return a && b && broadcast(a, b, (x, y) => x - y);
    case 'Mul':
      return a && b && broadcast(a, b, (x, y) => x * y);
    case 'Div':
      return (
        a &&
        b &&
        broadcast(a, b, (x, y) =>
          a.dtype === DTYPE.FLOAT || a.dtype === DTYPE.DOUBLE ? x / y : Math.trunc(x / y),
        )
      );
    case 'Slice': {
      if (!a || a.dims.length !== 1) return undefined;
      const starts = b?.values ?? Float64Array.from(attrInts(node, 'starts') ?? []);
      const ends = ins[2]?.values ?? Float64Array.from(attrInts(node, 'ends') ?? []);
      const n = a.values.length;
      const clamp = (v: number) => Math.max(0, Math.min(n, v < 0 ? n + v : v));
      return scalarOrList(Array.from(a.values.slice(clamp(starts[0] ?? 0), clamp(ends[0] ?? n))));
    }
    default:
      return undefined;
  }
}

/** The two folds, at batch 3 and batch 5 (see the module comment). */
export const FOLD_BATCHES = [3, 5] as const;

/**
 * Folds one node when it is shape arithmetic on known tensors (`known[k]` at batch `FOLD_BATCHES[k]`)
 * or `Shape` of a feature tensor (`shapeOf`, batch excluded: `[C, H, W]`). Returns whether it did;
 * its output is then known in both folds.
 */
export function foldNode(
  node: NodeProto,
  known: readonly [Folded, Folded],
  shapeOf: (name: string) => number[] | undefined,
): boolean {
  const inputs = node.input ?? [];
  if (node.opType !== 'Shape' && (inputs.length === 0 || inputs.some((n) => n !== '' && !known[0].has(n))))
    return false;
  const name = node.output?.[0];
  if (!name) return false;
  const values = known.map((k, i) =>
    evaluate(
      node,
      inputs.map((n) => (n === '' ? undefined : k.get(n))),
      (t) => {
        const s = shapeOf(t);
        return s && [FOLD_BATCHES[i]!, ...s];
      },
    ),
  );
  if (!values[0] || !values[1]) return false;
  known[0].set(name, values[0]);
  known[1].set(name, values[1]);
  return true;
}
