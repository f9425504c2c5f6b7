/**
 * The BCE floor. Per value, -y·ln p - (1-y)·ln(1-p) is smallest at p = y, where it
 * equals the binary entropy H(y): so on grey-level targets binary cross-entropy never
 * reaches 0, and `excess = loss - floor` is what goes towards 0. For MNIST's training
 * images (÷ 255) the floor is about 0.0584.
 */
import type { ModelSpec } from '../model/spec.js';

/** H(y) in nats, with 0·ln 0 = 0; NaN outside [0, 1]. */
export function binaryEntropy(y: number): number {
  if (y === 0 || y === 1) return 0;
  return -y * Math.log(y) - (1 - y) * Math.log(1 - y);
}

/** The mean binary entropy of the values; null when one lies outside [0, 1] (or is NaN), or there are none. */
export function meanBinaryEntropy(values: Float32Array): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const y = values[i];
    // Written so that NaN fails it too.
    if (!(y >= 0 && y <= 1)) return null;
    sum += binaryEntropy(y);
  }
  return sum / values.length;
}

/**
 * Memo of bceFloor's mean binary entropy, by the memory a Float32Array views (its buffer,
 * byte offset and length) rather than by the array object: train() reads the floor of
 * firstRows() views, new objects each run over the same memory. Safe because a loaded
 * data set is read-only: loadDataset writes its arrays once and everything after it
 * (workers, engines, pictures) only reads them, so the same memory holds the same values.
 * Keyed weakly by the buffer, so a data set that is dropped takes its entries with it.
 */
const entropyByMemory = new WeakMap<ArrayBufferLike, Map<string, number | null>>();

function memoizedMeanBinaryEntropy(values: Float32Array): number | null {
  let byView = entropyByMemory.get(values.buffer);
  if (byView === undefined) {
    byView = new Map();
    entropyByMemory.set(values.buffer, byView);
  }
  const view = `${values.byteOffset}:${values.length}`;
  const known = byView.get(view);
  if (known !== undefined) return known;
  const mean = meanBinaryEntropy(values);
  byView.set(view, mean);
  return mean;
}

/**
 * The lowest loss the spec can reach on these rows (its targets are the inputs x), or
 * null when there is no such floor: the loss is not binary cross-entropy, the target
 * is not the input, or the inputs are not all in [0, 1]. Reading every value takes about
 * 0.3 s for MNIST's training set, so it is remembered per memory viewed: `data.x` must
 * not change afterwards, as holds for a loaded data set's splits and views of them.
 */
export function bceFloor(spec: ModelSpec, data: { readonly x: Float32Array }): number | null {
  if (spec.loss !== 'binary_crossentropy' || spec.target !== 'input') return null;
  return memoizedMeanBinaryEntropy(data.x);
}
