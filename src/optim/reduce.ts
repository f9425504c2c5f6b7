/**
 * The all-reduce of the gradient slots: one slot per shard, summed in float32 in slot
 * order, as a C loop over `float` does, so that every engine and every worker count give
 * the same bits. Adam (adam.ts) reads the sum as it updates; nothing is written back.
 */

const f32 = Math.fround;

/** Throws unless `slots` holds slotCount slots of `size` floats and [begin, end) lies in one. */
export function checkSlots(slots: Float32Array, slotCount: number, size: number, begin: number, end: number): void {
  if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError(`slotCount must be a whole number ≥ 1, got ${slotCount}`);
  if (slots.length < slotCount * size) {
    throw new RangeError(`${slotCount} slots of ${size} need ${slotCount * size} floats, the buffer has ${slots.length}`);
  }
  if (begin < 0 || end > size || begin > end) throw new RangeError(`chunk [${begin}, ${end}) is outside [0, ${size})`);
}

/** g[i] = (slots[i] + slots[size + i] + …) · scale, slot 0 first, every step rounded to float32; scale is a float32. */
export function meanGradient(slots: Float32Array, slotCount: number, size: number, i: number, scale: number): number {
  let sum = slots[i];
  for (let s = 1; s < slotCount; s++) sum = f32(sum + slots[s * size + i]);
  return f32(sum * scale);
}

/** Σ over [begin, end) of g², g = meanGradient(…, f32(scale)), in double: the norm that clipping needs. */
export function meanGradientSumOfSquares(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, scale: number): number {
  checkSlots(slots, slotCount, size, begin, end);
  const s = f32(scale);
  let sumSq = 0;
  for (let i = begin; i < end; i++) {
    const g = meanGradient(slots, slotCount, size, i, s);
    sumSq += g * g;
  }
  return sumSq;
}
