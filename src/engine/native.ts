/**
 * The native engine: the C++ addon under native/ (fused dense layers over BLAS), built by
 * `npm install` into build/Release/corefit.node. It computes in place on the caller's
 * (shared) arrays and checks every argument itself; this file loads it and turns its
 * errors into EngineErrors.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EngineError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';
import { adamBiasCorrections } from '../optim/adam.js';
import { NATIVE_ADDON } from '../paths.js';
import type { AdamStep, Engine, EngineData } from './engine.js';

/** One model's workspaces in the addon (native/corefit.cc documents the calls). */
export interface NativeModel {
  gradients(
    params: Float32Array,
    x: Float32Array,
    labels: Uint8Array,
    features: number,
    rows: Int32Array,
    grad: Float32Array,
    accumulate: boolean,
  ): number;
  lossSum(params: Float32Array, x: Float32Array, labels: Uint8Array, features: number, rows: Int32Array): number;
  /** layer −1: the output layer. */
  predict(
    params: Float32Array,
    x: Float32Array,
    labels: Uint8Array,
    features: number,
    rows: Int32Array,
    out: Float32Array,
    layer: number,
  ): void;
  dispose(): void;
}

export interface NativeAddon {
  Engine: new (spec: ModelSpec, maxRows: number) => NativeModel;
  gradientSumOfSquares(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, scale: number): number;
  reduceAdam(
    params: Float32Array,
    m: Float32Array,
    v: Float32Array,
    slots: Float32Array,
    slotCount: number,
    begin: number,
    end: number,
    lr: number,
    beta1: number,
    beta2: number,
    epsilon: number,
    gradScale: number,
    correction1: number,
    correction2: number,
  ): boolean;
  /** c[m, n] = op(a) @ op(b), single-threaded BLAS: the ceiling benchmarks compare against. */
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array): void;
  blasInfo(): { name: 'openblas' | 'accelerate'; config: string; threads: number };
}

export type NativeStatus = { available: true } | { available: false; reason: string; hint: string };

const BUILD_HINT =
  process.platform === 'darwin'
    ? 'Install the Xcode command line tools (xcode-select --install), then run `npm rebuild corefit` (in a checkout: `node native/build.mjs`).'
    : 'Install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev), then run `npm rebuild corefit` (in a checkout: `node native/build.mjs`).';

const CALL_HINT =
  'params and grad must hold paramLayout(spec).size floats, rows must index rows of data.x and number at most maxRows.';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

let loaded: { addon: NativeAddon } | { reason: string } | undefined;

function load(): { addon: NativeAddon } | { reason: string } {
  if (loaded === undefined) {
    if (!existsSync(NATIVE_ADDON)) {
      loaded = { reason: `the addon was not built (${NATIVE_ADDON} is missing)` };
    } else {
      try {
        loaded = { addon: createRequire(import.meta.url)(NATIVE_ADDON) as NativeAddon };
      } catch (e) {
        loaded = { reason: `the addon does not load: ${message(e)}` };
      }
    }
  }
  return loaded;
}

export function nativeStatus(): NativeStatus {
  const l = load();
  return 'addon' in l ? { available: true } : { available: false, reason: l.reason, hint: BUILD_HINT };
}

/** The addon itself (benchmarks use its sgemm); throws EngineError where it is unavailable. */
export function nativeAddon(): NativeAddon {
  const l = load();
  if ('reason' in l) throw new EngineError(`the native engine is not available: ${l.reason}`, BUILD_HINT);
  return l.addon;
}

function callError(e: unknown): EngineError {
  return new EngineError(message(e), CALL_HINT, { cause: e });
}

class NativeEngine implements Engine {
  readonly name = 'native' as const;
  readonly backend: string;

  constructor(
    readonly spec: ModelSpec,
    readonly maxRows: number,
    private readonly addon: NativeAddon,
    private readonly model: NativeModel,
  ) {
    this.backend = addon.blasInfo().name;
  }

  gradients(params: Float32Array, data: EngineData, rows: Int32Array, grad: Float32Array, accumulate: boolean): number {
    try {
      return this.model.gradients(params, data.x, data.labels, data.features, rows, grad, accumulate);
    } catch (e) {
      throw callError(e);
    }
  }

  lossSum(params: Float32Array, data: EngineData, rows: Int32Array): number {
    try {
      return this.model.lossSum(params, data.x, data.labels, data.features, rows);
    } catch (e) {
      throw callError(e);
    }
  }

  predict(params: Float32Array, data: EngineData, rows: Int32Array, out: Float32Array, layer?: number): void {
    try {
      this.model.predict(params, data.x, data.labels, data.features, rows, out, layer === undefined || layer < 0 ? -1 : layer);
    } catch (e) {
      throw callError(e);
    }
  }

  gradientSumOfSquares(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, rows: number): number {
    try {
      return this.addon.gradientSumOfSquares(slots, slotCount, size, begin, end, 1 / rows);
    } catch (e) {
      throw callError(e);
    }
  }

  reduceAdam(
    params: Float32Array, m: Float32Array, v: Float32Array, slots: Float32Array, slotCount: number,
    begin: number, end: number, rows: number, step: AdamStep,
  ): boolean {
    const { beta1, beta2, epsilon } = step.config;
    try {
      const { c1, c2 } = adamBiasCorrections(step);
      return this.addon.reduceAdam(params, m, v, slots, slotCount, begin, end, step.lr, beta1, beta2, epsilon, step.gradScale / rows, c1, c2);
    } catch (e) {
      throw callError(e);
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Builds the native engine for spec with workspaces for up to maxRows rows per call. */
export function createNativeEngine(spec: ModelSpec, maxRows: number): Engine {
  const addon = nativeAddon();
  let model: NativeModel;
  try {
    model = new addon.Engine(spec, maxRows);
  } catch (e) {
    throw new EngineError(
      `the native engine cannot run this model: ${message(e)}`,
      'Check the model spec (corefit lint), or use --engine tfjs.',
      { cause: e },
    );
  }
  return new NativeEngine(spec, maxRows, addon, model);
}
