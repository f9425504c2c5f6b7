/**
 * The learning rate as a pure function of the step, so that every worker computes
 * the same value and `--resume` continues a schedule exactly (the schedule itself is
 * stored in the checkpoint).
 */
export const LR_SCALINGS = ['none', 'linear', 'sqrt'] as const;
export type LrScaling = (typeof LR_SCALINGS)[number];
export const LR_DECAYS = ['constant', 'cosine', 'step'] as const;
export type LrDecay = (typeof LR_DECAYS)[number];

export interface LrSchedule {
  /** The learning rate at the base batch size (the optimizer's own lr). */
  readonly baseLr: number;
  /** The learning rate after scaling to the effective batch size; warmup ends here. */
  readonly peakLr: number;
  /** Steps of the linear ramp from baseLr to peakLr (0: start at peakLr). */
  readonly warmupSteps: number;
  readonly decay: LrDecay;
  /** All steps of the run: cosine decays to 0 at the last one. */
  readonly totalSteps: number;
  /** For `step` decay: multiply by `stepFactor` every `stepEvery` steps after warmup. */
  readonly stepEvery: number;
  readonly stepFactor: number;
}

/** lr = base · f(batch / baseBatch): Goyal et al.'s linear rule, or the square-root rule. */
export function scaledLr(baseLr: number, scaling: LrScaling, batchSize: number, baseBatchSize: number): number {
  const ratio = batchSize / baseBatchSize;
  if (scaling === 'linear') return baseLr * ratio;
  if (scaling === 'sqrt') return baseLr * Math.sqrt(ratio);
  return baseLr;
}

/** The learning rate of 1-based step t. */
export function learningRateAt(s: LrSchedule, t: number): number {
  if (t <= s.warmupSteps) {
    // Weighted this way, the ramp ends at exactly peakLr (base + (peak − base)·1 may miss it by an ulp).
    const f = t / s.warmupSteps;
    return s.peakLr * f + s.baseLr * (1 - f);
  }
  const after = t - s.warmupSteps;
  if (s.decay === 'cosine') {
    const span = Math.max(1, s.totalSteps - s.warmupSteps);
    return s.peakLr * 0.5 * (1 + Math.cos((Math.PI * Math.min(after, span)) / span));
  }
  if (s.decay === 'step') return s.peakLr * Math.pow(s.stepFactor, Math.floor((after - 1) / s.stepEvery));
  return s.peakLr;
}

export function constantSchedule(lr: number): LrSchedule {
  return { baseLr: lr, peakLr: lr, warmupSteps: 0, decay: 'constant', totalSteps: 1, stepEvery: 1, stepFactor: 1 };
}
