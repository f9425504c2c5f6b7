/**
 * The engine ceiling: the time of the GEMMs one training step needs (the forward and
 * weight-gradient products of every layer, the input gradient of every layer but the
 * first: what the native engine computes) on one core, with the engine's own kernels
 * and nothing else. No step can beat it, so it shows how far from its GEMMs each bench
 * cell runs.
 */
import { performance } from 'node:perf_hooks';
import { nativeAddon, type KernelChoice } from '../engine/native.js';
import { paramLayout, trainFlopsPerSample } from '../model/layout.js';
import type { ModelSpec } from '../model/spec.js';

export interface Ceiling {
  readonly batchSize: number;
  readonly samplesPerSec: number;
  readonly gflops: number;
}

/**
 * Seconds of one step's GEMMs at batch `rows`: the fastest pass over them, of at least 5
 * passes and `seconds` of passes (on a shared machine the fastest is the least disturbed).
 */
export function gemmStepSeconds(spec: ModelSpec, rows: number, kernels: KernelChoice = 'auto', seconds = 0.2): number {
  const gemm = nativeAddon().gemm;
  const layers = paramLayout(spec).layers;
  const widest = Math.max(spec.inputSize, ...layers.map((l) => l.units));
  const a = new Float32Array(rows * widest).fill(0.5);
  const w = new Float32Array(widest * widest).fill(0.01);
  const c = new Float32Array(Math.max(rows, widest) * widest);
  const bias = new Float32Array(widest);
  let best = Infinity;
  const started = performance.now();
  for (let r = 0; r < 6 || performance.now() - started < seconds * 1000; r++) {
    const started = performance.now();
    layers.forEach((l, i) => {
      const [B, K, N] = [rows, l.inputs, l.units];
      gemm(kernels, 'forward', B, K, N, a, w, c, bias, false); // Y[B, N] = X[B, K] · W[K, N]
      gemm(kernels, 'weightGrad', B, K, N, a, a, c, bias, false); // dW[K, N] = Xᵀ · dY
      if (i > 0) gemm(kernels, 'inputGrad', B, K, N, a, w, c, bias, false); // dX[B, K] = dY · Wᵀ
    });
    const seconds = (performance.now() - started) / 1000;
    if (r > 0) best = Math.min(best, seconds); // the first pass warms the caches
  }
  return best;
}

export function engineCeiling(spec: ModelSpec, batchSizes: readonly number[]): Ceiling[] {
  return batchSizes.map((batchSize) => {
    const seconds = gemmStepSeconds(spec, batchSize);
    return { batchSize, samplesPerSec: batchSize / seconds, gflops: (trainFlopsPerSample(spec) * batchSize) / seconds / 1e9 };
  });
}
