/**
 * The engine interface: the model's compute on the flat, shared buffers (gradients,
 * loss, predictions). Two implementations: native (C++ addon over BLAS) and tfjs (the
 * reference). All arrays may live on SharedArrayBuffers; an engine reads and writes them
 * in place and allocates nothing per call. What follows the gradients (reduce, clipping,
 * Adam) is the collective step's, in parallel/collective.ts.
 */
import type { ModelSpec } from '../model/spec.js';

/** `--engine`: native where it was built (auto), or the one named. */
export const ENGINE_CHOICES = ['auto', 'native', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];
export type EngineName = Exclude<EngineChoice, 'auto'>;

/** `--backend` of the tfjs engine: the first that loads (auto), or the one named. */
export const TFJS_BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfjsBackendChoice = (typeof TFJS_BACKEND_CHOICES)[number];
export type TfjsBackendName = Exclude<TfjsBackendChoice, 'auto'>;

/** The rows an engine reads: features row-major [rows, features], already scaled. */
export interface EngineData {
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly features: number;
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

  dispose(): void;
}
