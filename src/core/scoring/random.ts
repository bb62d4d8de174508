/**
 * The random criterion: seeded uniform scores in [0, 1), the baseline every comparison chart should
 * show (a criterion that does not beat it on a model is not telling anything about that model).
 * Each group's scores depend only on the seed and the group's producer name, so adding a layer or
 * scoring a subset does not reshuffle the others.
 */

/** FNV-1a hash of a string, mixed with a seed: a 32-bit unsigned integer. */
function hashName(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG; returns uniform numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `size` uniform scores in [0, 1) for the group named `producer`, reproducible from `seed`.
 * Example: `randomScores(8, 'conv1', 0)` is the same 8 numbers on every call and machine.
 */
export function randomScores(size: number, producer: string, seed = 0): Float32Array {
  const next = mulberry32(hashName(seed, producer));
  return Float32Array.from({ length: size }, next);
}
