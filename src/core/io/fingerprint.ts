import type { ModelArtifactsData } from '../ir/artifacts';
import { buildModelIR } from '../ir/build-ir';
import type { ModelIR } from '../ir/model-ir';

/**
 * 64-bit FNV-1a of a string's UTF-16 code units, as 16 hex digits. Two 32-bit halves (the 64-bit
 * prime is 2^40 + 2^8 + 0xb3), so no BigInt is needed.
 */
export function fnv1a64(text: string): string {
  // offset basis 0xcbf29ce484222325, split in 16-bit limbs (little end first)
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    // multiply by 0x100000001b3 = 2^40 + 0x1b3
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3;
    const t2 = h2 * 0x1b3;
    const t3 = h3 * 0x1b3;
    // 2^40 = 2^32 * 2^8: limb k moves to limb k + 2, shifted left by 8 (limbs 2 and 3 overflow away)
    const s2 = t2 + (h0 << 8);
    const s3 = t3 + (h1 << 8);
    h0 = t0 & 0xffff;
    const c1 = t1 + (t0 >>> 16);
    h1 = c1 & 0xffff;
    const c2 = s2 + Math.floor(c1 / 0x10000);
    h2 = c2 & 0xffff;
    const c3 = s3 + Math.floor(c2 / 0x10000);
    h3 = c3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((x) => x.toString(16).padStart(4, '0')).join('');
}

/**
 * A stable fingerprint of a model's structure: its input shape and every layer's name, class and
 * weight shapes (by role), sorted by layer name, hashed with 64-bit FNV-1a, e.g. `'3f1c0a9b27d4e510'`.
 * InputLayers count only through the input shape: Keras 3 adds one where Keras 2 had an implicit input
 * (`dense_input`), which changes nothing else. So the same model gives the same fingerprint whatever
 * file it came from (.h5, .keras, TF.js, zipped or not) and whatever its weight values; pruning or
 * renaming a layer changes it. A saved plan records it so that opening the plan on another model can say so.
 */
export function modelFingerprint(model: ModelIR | ModelArtifactsData): string {
  const ir = 'layers' in model ? model : buildModelIR(model);
  const lines = ir.layers
    .filter((l) => l.className !== 'InputLayer')
    .map((l) => {
      const weights = [...l.weights]
        .sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0))
        .map((w) => `${w.role}=${w.shape.join('x')}`)
        .join(',');
      return `${l.name}\u0000${l.className}\u0000${weights}`;
    })
    .sort();
  const input = ir.inputShape.map((d) => (d === null ? '?' : String(d))).join('x');
  return fnv1a64([`input ${input}`, ...lines].join('\n'));
}
