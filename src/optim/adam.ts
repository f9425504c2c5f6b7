/**
 * Adam on a chunk [begin, end) of the flat buffers, fused with the all-reduce that feeds
 * it (reduce.ts), in the one-division form
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p −= (lr·√c2/c1) · m / (√v + ε·√c2)
 * (m and v below the smallest normal float32 stored as 0) with c1 = 1 − β1^t and c2 = 1 − β2^t. That is tfjs's AdamOptimizer rearranged so that it
 * divides once per parameter instead of three times; after 100 steps it agrees with
 * tf.train.adam to a normwise relative error ≤ 1e-6 per tensor (test/adam.test.ts).
 * Every intermediate is rounded to float32 in the order native/kernels.cc computes it
 * (reduce_adam), without fused multiply-adds, so both kernels give the same bits.
 */
import type { AdamConfig } from '../model/spec.js';
import { checkSlots, meanGradient } from './reduce.js';

export interface AdamStep {
  /** 1-based step number t, for bias correction. */
  readonly t: number;
  /** The learning rate of this step (after scaling, warmup and schedule). */
  readonly lr: number;
  readonly config: AdamConfig;
  /** Multiplies the gradient before the update (global-norm clipping); 1 when off. */
  readonly gradScale: number;
}

const f32 = Math.fround;

/** The smallest normal float32, 2^-126. */
const FLT_MIN = 2 ** -126;

/**
 * A moment below FLT_MIN is stored as 0, as native/kernels.cc does (flush_subnormal): m of
 * a weight whose gradient stays 0 decays into subnormal floats, which are several times
 * slower to divide on AMD Zen; the update it drops is below 1e-30.
 */
function flushSubnormal(x: number): number {
  return Math.abs(x) < FLT_MIN ? 0 : x;
}

// β^t for the last t asked, per β: each worker asks for t once per step and t + 1 on
// the next, so each step costs one multiplication; a resume recomputes once.
const powers = new Map<number, { t: number; power: number }>();

/** β^t as tfjs accumulates it: β, then ·β in float32 after every step. */
function betaPower(beta: number, t: number): number {
  const memo = powers.get(beta);
  let [at, power] = memo === undefined || memo.t > t ? [1, f32(beta)] : [memo.t, memo.power];
  for (; at < t; at++) power = f32(power * f32(beta));
  powers.set(beta, { t, power });
  return power;
}

/** The bias corrections 1 − β1^t and 1 − β2^t of step t (1-based), as float32 values. */
export function adamBiasCorrections(step: Pick<AdamStep, 't' | 'config'>): { readonly c1: number; readonly c2: number } {
  if (!Number.isInteger(step.t) || step.t < 1) throw new RangeError(`Adam step t must be a whole number ≥ 1, got ${step.t}`);
  return { c1: f32(1 - betaPower(step.config.beta1, step.t)), c2: f32(1 - betaPower(step.config.beta2, step.t)) };
}

/** Every scalar of one update, each a float32 (computed in double, rounded once): what an update kernel applies. */
export interface AdamScalars {
  readonly beta1: number;
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  readonly oneMinusBeta2: number;
  /** lr·√c2/c1 */
  readonly stepSize: number;
  /** ε·√c2 */
  readonly epsHat: number;
  /** The clipping scale over the rows of the global batch: g = Σ slots · gradScale. */
  readonly gradScale: number;
}

/** The scalars of step `step` over a global batch of `rows` rows: computed once per step, for every chunk and every kernel. */
export function adamScalars(step: AdamStep, rows: number): AdamScalars {
  const { beta1, beta2, epsilon } = step.config;
  const { c1, c2 } = adamBiasCorrections(step);
  return {
    beta1: f32(beta1),
    oneMinusBeta1: f32(1 - beta1),
    beta2: f32(beta2),
    oneMinusBeta2: f32(1 - beta2),
    stepSize: f32((step.lr * Math.sqrt(c2)) / c1),
    epsHat: f32(epsilon * Math.sqrt(c2)),
    gradScale: f32(step.gradScale / rows),
  };
}

/**
 * One update of params[begin, end), m and v in place from the gradient slots: g is their
 * tree sum (reduce.ts: meanGradient) times a.gradScale. The slots are only read.
 * Returns false when some g was not finite (the update then made p, m or v non-finite).
 */
export function reduceAdam(
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  slots: Float32Array,
  slotCount: number,
  begin: number,
  end: number,
  a: AdamScalars,
): boolean {
  const size = params.length;
  if (m.length !== size || v.length !== size) throw new RangeError(`reduceAdam: m and v need ${size} floats like params, got ${m.length} and ${v.length}`);
  checkSlots(slots, slotCount, size, begin, end);
  let finite = true;
  for (let i = begin; i < end; i++) {
    const g = meanGradient(slots, slotCount, size, i, a.gradScale);
    if (!Number.isFinite(g)) finite = false;
    const mi = flushSubnormal(f32(f32(a.beta1 * m[i]) + f32(a.oneMinusBeta1 * g)));
    const vi = flushSubnormal(f32(f32(a.beta2 * v[i]) + f32(a.oneMinusBeta2 * f32(g * g))));
    m[i] = mi;
    v[i] = vi;
    const ratio = f32(mi / f32(f32(Math.sqrt(vi)) + a.epsHat));
    params[i] = f32(params[i] - f32(a.stepSize * ratio));
  }
  return finite;
}
