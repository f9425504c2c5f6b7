/**
 * The native engine: the C++ addon under native/ (fused dense layers over corefit's own
 * GEMM kernels), built by `npm install` into build/Release/corefit.node. It computes in place on the caller's
 * (shared) arrays and checks every argument itself; this file loads it and turns its
 * errors into EngineErrors.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EngineError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';
import { NATIVE_ADDON } from '../paths.js';
import type { UpdateKernels } from '../optim/update-kernels.js';
import type { Engine, EngineData } from './engine.js';

/** One model's workspaces in the addon (native/corefit.cc documents the calls). */
export interface NativeModel {
  gradients(params: Float32Array, x: Float32Array, labels: Uint8Array, features: number, rows: Int32Array, grad: Float32Array, accumulate: boolean): number;
  lossSum(params: Float32Array, x: Float32Array, labels: Uint8Array, features: number, rows: Int32Array): number;
  /** layer −1: the output layer. */
  predict(params: Float32Array, x: Float32Array, labels: Uint8Array, features: number, rows: Int32Array, out: Float32Array, layer: number): void;
  dispose(): void;
}

/** Which GEMM kernels to run: the fastest this CPU runs, or one named (tests force each). */
export type KernelChoice = 'auto' | KernelPathName;
export type KernelPathName = 'avx512' | 'avx2' | 'portable';
export type GemmProduct = 'forward' | 'weightGrad' | 'inputGrad';

export interface KernelInfo {
  /** What `auto` runs on this CPU. */
  readonly chosen: KernelPathName;
  readonly paths: ReadonlyArray<{ name: KernelPathName; isa: string; runs: boolean; whyNot: string }>;
}

export interface NativeAddon {
  Engine: new (spec: ModelSpec, maxRows: number, kernels: KernelChoice) => NativeModel;
  gradientSumOfSquares(slots: Float32Array, slotCount: number, size: number, begin: number, end: number, scale: number): number;
  /** The scalars are AdamScalars' (optim/adam.ts), in that order. */
  reduceAdam(
    params: Float32Array,
    m: Float32Array,
    v: Float32Array,
    slots: Float32Array,
    slotCount: number,
    begin: number,
    end: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    stepSize: number,
    epsHat: number,
    gradScale: number,
  ): boolean;
  /**
   * One product of a dense layer (tests and benchmarks):
   * forward c[B, N] = a[B, K] · b[K, N] + bias; weightGrad c[K, N] (+)= a[B, K]ᵀ · b[B, N] and
   * bias (+)= the sum of b's rows; inputGrad c[B, K] = a[B, N] · b[K, N]ᵀ.
   */
  gemm(
    kernels: KernelChoice,
    product: GemmProduct,
    B: number,
    K: number,
    N: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    bias: Float32Array,
    accumulate: boolean,
  ): void;
  /** GFLOP/s of fused multiply-adds on registers only, with the path's vectors: the core's peak (best of ~0.1 ms windows). */
  fmaPeak(kernels: KernelChoice, seconds: number): number;
  kernelInfo(): KernelInfo;
}

export type NativeStatus = { available: true } | { available: false; reason: string; hint: string };

const BUILD_HINT =
  process.platform === 'darwin'
    ? 'Install the Xcode command line tools (xcode-select --install), then run `npm rebuild corefit` (in a checkout: `node native/build.mjs`).'
    : 'Install a C++ compiler, make and python3 (Debian/Ubuntu: apt-get install g++ make python3), then run `npm rebuild corefit` (in a checkout: `node native/build.mjs`).';

const CALL_HINT = 'params and grad must hold paramLayout(spec).size floats, rows must index rows of data.x and number at most maxRows.';

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

/** The addon itself (tests and benchmarks use its gemm); throws EngineError where it is unavailable. */
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
    kernels: KernelChoice,
  ) {
    this.backend = kernels === 'auto' ? addon.kernelInfo().chosen : kernels;
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

  dispose(): void {
    this.model.dispose();
  }
}

/** The addon's update loops, the C++ twins of optim/update-kernels.ts. */
export function nativeUpdateKernels(): UpdateKernels {
  const addon = nativeAddon();
  return {
    gradientSumOfSquares(slots, slotCount, size, begin, end, scale) {
      try {
        return addon.gradientSumOfSquares(slots, slotCount, size, begin, end, scale);
      } catch (e) {
        throw callError(e);
      }
    },
    reduceAdam(params, m, v, slots, slotCount, begin, end, a) {
      try {
        return addon.reduceAdam(
          params,
          m,
          v,
          slots,
          slotCount,
          begin,
          end,
          a.beta1,
          a.oneMinusBeta1,
          a.beta2,
          a.oneMinusBeta2,
          a.stepSize,
          a.epsHat,
          a.gradScale,
        );
      } catch (e) {
        throw callError(e);
      }
    },
  };
}

/**
 * Builds the native engine for spec with workspaces for up to maxRows rows per call. Its
 * backend names the GEMM kernels it runs.
 */
export function createNativeEngine(spec: ModelSpec, maxRows: number, kernels: KernelChoice = 'auto'): Engine {
  const addon = nativeAddon();
  let model: NativeModel;
  try {
    model = new addon.Engine(spec, maxRows, kernels);
  } catch (e) {
    throw new EngineError(`the native engine cannot run this model: ${message(e)}`, 'Check the model spec (corefit lint), or use --engine tfjs.', { cause: e });
  }
  return new NativeEngine(spec, maxRows, addon, model, kernels);
}
