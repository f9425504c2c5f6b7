/**
 * The all-reduce of one chunk of the gradient slots (see Engine.reduceSlots). The sum
 * runs in float32 in slot order, as a C loop over `float` does, so every engine and
 * every worker count produce the same bits.
 */

/**
 * For i in [begin, end): slots[i] = (slots[i] + slots[size + i] + … ) / divisor, slot 0
 * first. Returns Σ of the squared means over the chunk, accumulated in double.
 */
export function reduceSlots(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, divisor: number): number {
  if (slots.length < slotCount * size) {
    throw new RangeError(`reduceSlots: ${slotCount} slots of ${size} need ${slotCount * size} floats, the buffer has ${slots.length}`);
  }
  if (begin < 0 || end > size || begin > end) throw new RangeError(`reduceSlots: chunk [${begin}, ${end}) is outside [0, ${size})`);
  if (!(divisor > 0)) throw new RangeError(`reduceSlots: divisor must be > 0, got ${divisor}`);
  const f32 = Math.fround;
  const div = f32(divisor);
  let sumSq = 0;
  for (let i = begin; i < end; i++) {
    let acc = slots[i];
    for (let s = 1; s < slotCount; s++) acc = f32(acc + slots[s * size + i]);
    const mean = f32(acc / div);
    slots[i] = mean;
    sumSq += mean * mean;
  }
  return sumSq;
}
