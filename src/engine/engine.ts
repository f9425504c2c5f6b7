/**
 * The engine interface: everything a worker needs to compute gradients and apply
 * Adam on the flat, shared buffers. Two implementations: native (C++ addon over
 * BLAS) and tfjs (the reference). All arrays may live on SharedArrayBuffers; an
 * engine reads and writes them in place and allocates nothing per call.
 */
import type { AdamConfig, ModelSpec } from '../model/spec.js';

export type EngineName = 'native' | 'tfjs';
export type EngineChoice = EngineName | 'auto';

/** The rows an engine reads: features row-major [rows, features], already scaled. */
export interface EngineData {
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly features: number;
}

export interface AdamStep {
  /** 1-based step number t, for bias correction. */
  readonly t: number;
  /** The learning rate of this step (after scaling, warmup and schedule). */
  readonly lr: number;
  readonly config: AdamConfig;
  /** Multiplies the gradient before the update (global-norm clipping); 1 when off. */
  readonly gradScale: number;
}

export interface Engine {
  readonly name: EngineName;
  /** The BLAS or tfjs backend in use, e.g. "openblas" or "wasm". */
  readonly backend: string;
  readonly spec: ModelSpec;
  readonly maxRows: number;
  /** Advice on a faster path, said once per run (e.g. how to get the tensorflow backend). */
  readonly note?: string;

  /**
   * Forward, loss and backward over data rows `rows` (rows.length ≤ maxRows).
   * Writes d(Σ loss)/d(params) into grad (adds to it when accumulate is true),
   * in the flat layout. Returns Σ over rows of the per-row loss (Keras reduction:
   * mean over the output units).
   */
  gradients(params: Float32Array, data: EngineData, rows: Int32Array, grad: Float32Array, accumulate: boolean): number;

  /** Σ over rows of the per-row loss, without gradients. */
  lossSum(params: Float32Array, data: EngineData, rows: Int32Array): number;

  /** Outputs [rows.length, outputSize] into out; with `layer` ≥ 0, the activations of that layer instead. */
  predict(params: Float32Array, data: EngineData, rows: Int32Array, out: Float32Array, layer?: number): void;

  /**
   * Σ over [begin, end) of g², g the mean gradient reduceAdam would apply without clipping:
   * (slots summed in slot order) / rows. Gradient clipping needs this norm before the update.
   */
  gradientSumOfSquares(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, rows: number): number;

  /**
   * The update of params[begin, end), m and v in one pass (src/optim/adam.ts: reduceAdam):
   * g = (slot 0 + slot 1 + … in that order, so results do not depend on who reduces)
   * · step.gradScale / rows, then Adam. The slots (slotCount of params.length floats) are
   * only read. Returns false when some g was not finite.
   */
  reduceAdam(
    params: Float32Array, m: Float32Array, v: Float32Array, slots: Float32Array, slotCount: number,
    begin: number, end: number, rows: number, step: AdamStep,
  ): boolean;

  dispose(): void;
}
