/**
 * The vector loops of the collective step (parallel/collective.ts) over one chunk of the
 * flat buffers: the reduce of the gradient slots fused with the Adam update, and the
 * read-only norm pass that clipping needs first. A kernel applies the scalars it is
 * given; what they are (the bias corrections, clipping) is decided once, by the
 * collective. The TypeScript kernels here are the reference; the native engine's addon
 * has the same loops in C++ (engine/native.ts).
 */
import { reduceAdam, type AdamScalars } from './adam.js';
import { meanGradientSumOfSquares } from './reduce.js';

export interface UpdateKernels {
  /**
   * Σ over [begin, end) of g², g = (Σ_s slots[s·size + i]) · scale, summed in the pairwise
   * tree of reduce.ts as reduceAdam does. The slots are only read.
   */
  gradientSumOfSquares(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, scale: number): number;
  /**
   * The update of params[begin, end), m and v in one pass (optim/adam.ts: reduceAdam):
   * g = (the slots' tree sum, reduce.ts, so results do not depend on who reduces) ·
   * scalars.gradScale, then Adam. The slots (slotCount of params.length floats) are only
   * read. Returns false when some g was not finite.
   */
  reduceAdam(
    params: Float32Array,
    m: Float32Array,
    v: Float32Array,
    slots: Float32Array,
    slotCount: number,
    begin: number,
    end: number,
    scalars: AdamScalars,
  ): boolean;
}

export const TYPESCRIPT_KERNELS: UpdateKernels = { gradientSumOfSquares: meanGradientSumOfSquares, reduceAdam };
