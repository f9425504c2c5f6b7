/**
 * The engine ceiling: the time of the plain sgemm calls one training step needs
 * (forward, weight gradient and input gradient of every layer) on one core. No engine
 * can beat it, so it shows how far from the hardware each bench cell runs.
 */
import { performance } from 'node:perf_hooks';
import { nativeAddon } from '../engine/native.js';
import { paramLayout, trainFlopsPerSample } from '../model/layout.js';
import type { ModelSpec } from '../model/spec.js';

export interface Ceiling {
  readonly batchSize: number;
  readonly samplesPerSec: number;
  readonly gflops: number;
}

/** Seconds of one step's GEMMs at batch `rows`, the best of `repeats` timings. */
export function sgemmStepSeconds(spec: ModelSpec, rows: number, repeats = 5): number {
  const sgemm = nativeAddon().sgemm;
  const layers = paramLayout(spec).layers;
  const widest = Math.max(spec.inputSize, ...layers.map((l) => l.units));
  const a = new Float32Array(rows * widest).fill(0.5);
  const w = new Float32Array(widest * widest).fill(0.01);
  const c = new Float32Array(Math.max(rows, widest) * widest);
  let best = Infinity;
  for (let r = 0; r < repeats + 1; r++) {
    const started = performance.now();
    for (const l of layers) {
      sgemm(false, false, rows, l.units, l.inputs, a, w, c); // Y[rows, out] = X[rows, in] · W[in, out]
      sgemm(true, false, l.inputs, l.units, rows, a, a, c); // dW[in, out] = Xᵀ · dY
      sgemm(false, true, rows, l.inputs, l.units, a, w, c); // dX[rows, in] = dY · Wᵀ
    }
    const seconds = (performance.now() - started) / 1000;
    if (r > 0) best = Math.min(best, seconds); // the first pass warms caches and BLAS buffers
  }
  return best;
}

export function engineCeiling(spec: ModelSpec, batchSizes: readonly number[]): Ceiling[] {
  return batchSizes.map((batchSize) => {
    const seconds = sgemmStepSeconds(spec, batchSize);
    return { batchSize, samplesPerSec: batchSize / seconds, gflops: (trainFlopsPerSample(spec) * batchSize) / seconds / 1e9 };
  });
}
