/**
 * The all-reduce of the gradient slots: one slot per shard, summed in float32 in a fixed
 * pairwise tree over the slots, as native/kernels.cc sums them, so that every engine,
 * every worker count and every split into processes give the same bits. Adam (adam.ts)
 * reads the sum as it updates; nothing is written back.
 *
 * The tree sum of slots [a, a + n) is slot a when n = 1, else the tree sum of its first
 * L slots plus the tree sum of the other n − L, L the largest power of two below n. So an
 * aligned run of 2^k slots is a subtree: a process that computes such a run sums it alone
 * and sends one partial (README, "Across machines").
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

/** Partial sums of finished subtrees waiting for their right sibling (treeSum); float32 values, so storing them is exact. */
const stack = new Float32Array(32);

/**
 * The tree sum of slots 0 … slotCount − 1 at element i, every addition rounded to float32.
 * Slots are added as they come; a finished subtree of 2^k slots waits on the stack until
 * its right sibling of 2^k is finished, and what is left at the end is added from the
 * right (the last, smallest subtrees first): the tree of this file's header.
 */
export function treeSum(slots: Float32Array, slotCount: number, size: number, i: number): number {
  let depth = 0;
  for (let s = 0; s < slotCount; s++) {
    let sum = slots[s * size + i];
    for (let leaves = s; (leaves & 1) === 1; leaves >>= 1) sum = f32(stack[--depth] + sum);
    stack[depth++] = sum;
  }
  let sum = stack[--depth];
  while (depth > 0) sum = f32(stack[--depth] + sum);
  return sum;
}

/** g[i] = (the tree sum of the slots at i) · scale, rounded to float32; scale is a float32. */
export function meanGradient(slots: Float32Array, slotCount: number, size: number, i: number, scale: number): number {
  return f32(treeSum(slots, slotCount, size, i) * scale);
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
