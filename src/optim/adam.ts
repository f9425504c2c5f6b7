/**
 * Adam on a chunk [begin, end) of the flat buffers, with the arithmetic of tfjs's
 * AdamOptimizer operation by operation: every intermediate is rounded to float32 and
 * β^t is a float32 product accumulated one step at a time, so the result matches
 * tf.train.adam to the last bit on a float32 backend. A native engine that wants the
 * same numbers does the same float operations in this order, without fused multiply-adds.
 */
import type { AdamConfig } from '../model/spec.js';

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

// β^t for the last t asked, per β: workers ask for the same t once per chunk and t + 1
// on the next step, so each step costs one multiplication; a resume recomputes once.
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

/** Every scalar of one Adam update, the bias corrections included: what an update kernel applies. */
export interface AdamScalars {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly gradScale: number;
  /** 1 − β1^t and 1 − β2^t (adamBiasCorrections). */
  readonly c1: number;
  readonly c2: number;
}

/** The scalars of step `step`: computed once per step, for every chunk and every kernel. */
export function adamScalars(step: AdamStep): AdamScalars {
  const { beta1, beta2, epsilon } = step.config;
  return { lr: step.lr, beta1, beta2, epsilon, gradScale: step.gradScale, ...adamBiasCorrections(step) };
}

/**
 * One Adam update of params[begin, end), m and v in place, from g = gradScale · grad:
 * m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p −= lr · (m / c1) / (sqrt(v / c2) + ε).
 */
export function adamUpdate(
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grad: Float32Array,
  begin: number,
  end: number,
  s: AdamScalars,
): void {
  const shortest = Math.min(params.length, m.length, v.length, grad.length);
  if (begin < 0 || end > shortest || begin > end) throw new RangeError(`adamUpdate: chunk [${begin}, ${end}) is outside the buffers [0, ${shortest})`);
  const { c1, c2 } = s;
  // The scalars tfjs makes from its JS numbers, each a float32.
  const b1 = f32(s.beta1);
  const b2 = f32(s.beta2);
  const oneMinusB1 = f32(1 - s.beta1);
  const oneMinusB2 = f32(1 - s.beta2);
  const eps = f32(s.epsilon);
  const negLr = f32(-s.lr);
  const scale = f32(s.gradScale);
  for (let i = begin; i < end; i++) {
    const g = f32(scale * grad[i]);
    const mi = f32(f32(m[i] * b1) + f32(g * oneMinusB1));
    const vi = f32(f32(v[i] * b2) + f32(f32(g * g) * oneMinusB2));
    m[i] = mi;
    v[i] = vi;
    const mHat = f32(mi / c1);
    const vHat = f32(vi / c2);
    const ratio = f32(mHat / f32(f32(Math.sqrt(vHat)) + eps));
    params[i] = f32(f32(ratio * negLr) + params[i]);
  }
}
