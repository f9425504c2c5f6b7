/**
 * The vector loops of the collective step (parallel/collective.ts): the reduce of the
 * gradient slots and the Adam update, over one chunk of the flat buffers. A kernel
 * applies the scalars it is given; what they are (the bias corrections, clipping) is
 * decided once, by the collective. The TypeScript kernels here are the reference; the
 * native engine's addon has the same loops in C++ (engine/native.ts).
 */
import { adamUpdate, type AdamScalars } from './adam.js';
import { reduceSlots } from './reduce.js';

export interface UpdateKernels {
  /**
   * For i in [begin, end): slots[i] = (Σ_s slots[s·size + i]) / divisor, summing slot 0,
   * 1, …, slotCount−1 in that order (so results do not depend on who reduces). The mean
   * lands in slot 0. Returns Σ of the squared means over the chunk.
   */
  reduceSlots(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, divisor: number): number;
  /** One Adam update of params[begin, end) from grad[begin, end), tfjs semantics. */
  adam(params: Float32Array, m: Float32Array, v: Float32Array, grad: Float32Array, begin: number, end: number, scalars: AdamScalars): void;
}

export const TYPESCRIPT_KERNELS: UpdateKernels = { reduceSlots, adam: adamUpdate };
