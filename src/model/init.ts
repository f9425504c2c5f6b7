/** Keras defaults: glorot-uniform kernels, zero biases, drawn from a seeded stream. */
import type { Rng } from '../rng.js';
import type { ParamLayout } from './layout.js';

export function glorotUniformInit(layout: ParamLayout, params: Float32Array, rng: Rng): void {
  for (const l of layout.layers) {
    const limit = Math.sqrt(6 / (l.inputs + l.units));
    const kernelEnd = l.kernelOffset + l.inputs * l.units;
    for (let i = l.kernelOffset; i < kernelEnd; i++) params[i] = (2 * rng.nextFloat() - 1) * limit;
    params.fill(0, l.biasOffset, l.biasOffset + l.units);
  }
}
