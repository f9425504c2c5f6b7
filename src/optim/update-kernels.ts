/**
 * The vector loops of the collective step (parallel/collective.ts) over one chunk of the
 * flat buffers: the reduce of the gradient slots fused with the Adam update, and the
 * read-only norm pass that clipping needs first. A kernel applies the scalars it is
 * given; what they are (the bias corrections, clipping) is decided once, by the
 * collective. The TypeScript kernels here are the reference; the native engine's addon
 * has the same loops in C++ (engine/native.ts).
 */
import { reduceAdam } from './adam.js';
import { meanGradientSumOfSquares } from './reduce.js';

/** The two loops, as the TypeScript reference defines them (their comments say what each computes). */
export interface UpdateKernels {
  readonly gradientSumOfSquares: typeof meanGradientSumOfSquares;
  readonly reduceAdam: typeof reduceAdam;
}

export const TYPESCRIPT_KERNELS: UpdateKernels = { gradientSumOfSquares: meanGradientSumOfSquares, reduceAdam };
