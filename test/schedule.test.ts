/**
 * The learning-rate schedule (issue 6): the scaling rules, the warmup ramp, the decays,
 * how the flags become a schedule, and what a resumed run may not change about it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { constantSchedule, learningRateAt, scaledLr, type LrSchedule } from '../src/optim/schedule.js';
import { checkResumeOptions, newRunConfig, type TrainOptions } from '../src/train/options.js';

const schedule = (s: Partial<LrSchedule>): LrSchedule => ({ ...constantSchedule(1e-3), ...s });

describe('scaledLr', () => {
  it('scales the base lr by batch / base batch: not at all, linearly, or by its square root', () => {
    expect(scaledLr(1e-3, 'none', 1600, 100)).toBe(1e-3);
    expect(scaledLr(1e-3, 'linear', 1600, 100)).toBeCloseTo(16e-3, 15);
    expect(scaledLr(1e-3, 'sqrt', 1600, 100)).toBeCloseTo(4e-3, 15);
    expect(scaledLr(1e-3, 'linear', 50, 100)).toBeCloseTo(0.5e-3, 15);
    expect(scaledLr(1e-3, 'sqrt', 100, 100)).toBe(1e-3);
  });
});

describe('learningRateAt', () => {
  it('ramps linearly from the base lr to the peak over the warmup steps, then holds it', () => {
    const s = schedule({ baseLr: 1e-3, peakLr: 5e-3, warmupSteps: 4 });
    expect(learningRateAt(s, 1)).toBeCloseTo(2e-3, 15);
    expect(learningRateAt(s, 2)).toBeCloseTo(3e-3, 15);
    expect(learningRateAt(s, 4)).toBe(5e-3);
    expect(learningRateAt(s, 5)).toBe(5e-3);
    expect(learningRateAt(s, 1000)).toBe(5e-3);
  });

  it('starts at the peak without warmup', () => {
    expect(learningRateAt(schedule({ baseLr: 1e-3, peakLr: 5e-3 }), 1)).toBe(5e-3);
  });

  it('decays by a cosine from the peak at the end of warmup to half way to 0 at the last step', () => {
    const s = schedule({ peakLr: 4e-3, warmupSteps: 10, decay: 'cosine', totalSteps: 110 });
    expect(learningRateAt(s, 10)).toBe(4e-3);
    expect(learningRateAt(s, 11)).toBeCloseTo(4e-3 * 0.5 * (1 + Math.cos(Math.PI / 100)), 15);
    expect(learningRateAt(s, 60)).toBeCloseTo(2e-3, 15);
    expect(learningRateAt(s, 85)).toBeCloseTo(4e-3 * 0.5 * (1 - Math.SQRT1_2), 15);
    expect(learningRateAt(s, 110)).toBeCloseTo(0, 15);
    expect(learningRateAt(s, 111)).toBeCloseTo(0, 15);
  });

  it('multiplies by the step factor every stepEvery steps after warmup', () => {
    const s = schedule({ peakLr: 1e-2, warmupSteps: 5, decay: 'step', stepEvery: 10, stepFactor: 0.1 });
    expect(learningRateAt(s, 15)).toBe(1e-2);
    expect(learningRateAt(s, 16)).toBeCloseTo(1e-3, 15);
    expect(learningRateAt(s, 25)).toBeCloseTo(1e-3, 15);
    expect(learningRateAt(s, 26)).toBeCloseTo(1e-4, 15);
  });

  it('never leaves [base, peak] during warmup and never rises during a decay', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-5, max: 1, noNaN: true }),
        fc.double({ min: 1e-5, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom<LrSchedule['decay']>('constant', 'cosine', 'step'),
        (baseLr, peakLr, warmupSteps, decaySteps, decay) => {
          const s = schedule({ baseLr, peakLr, warmupSteps, decay, totalSteps: warmupSteps + decaySteps, stepEvery: 7, stepFactor: 0.5 });
          const rounding = 1e-15 * Math.max(baseLr, peakLr);
          for (let t = 1; t <= warmupSteps; t++) {
            const lr = learningRateAt(s, t);
            expect(lr).toBeGreaterThanOrEqual(Math.min(baseLr, peakLr) - rounding);
            expect(lr).toBeLessThanOrEqual(Math.max(baseLr, peakLr) + rounding);
          }
          expect(learningRateAt(s, warmupSteps)).toBe(peakLr);
          for (let t = warmupSteps + 1; t <= warmupSteps + decaySteps; t++) {
            expect(learningRateAt(s, t)).toBeLessThanOrEqual(learningRateAt(s, t - 1) * (1 + 1e-12));
          }
        },
      ),
    );
  });
});

describe('the run config builds the schedule from the flags', () => {
  // 2,000 rows in steps of 100 × 2 accumulated rows: 10 steps per epoch.
  const flags: TrainOptions = {
    trainRows: 2000,
    testRows: 1000,
    batchSize: 100,
    accumulate: 2,
    epochs: 3,
    lrScaling: 'linear',
    warmupEpochs: 1.5,
    lrSchedule: 'step',
    lrStepEpochs: 0.5,
    lrStepFactor: 0.3,
  };
  const config = newRunConfig(flags, DEFAULT_SPEC, 60000, 10000);

  it('scales by the rows of one update (batch × accumulate) and counts in updates', () => {
    expect(config.schedule).toEqual({
      baseLr: 1e-3,
      peakLr: 2e-3,
      warmupSteps: 15,
      decay: 'step',
      totalSteps: 30,
      stepEvery: 5,
      stepFactor: 0.3,
    });
    expect(newRunConfig({ ...flags, lrScaling: 'sqrt', batchSize: 800, accumulate: 1, lr: 0.01 }, DEFAULT_SPEC, 60000, 10000).schedule).toMatchObject({
      baseLr: 0.01,
      peakLr: 0.01 * Math.sqrt(8),
      warmupSteps: 5,
      totalSteps: 9,
    });
    expect(newRunConfig({ trainRows: 2000 }, DEFAULT_SPEC, 60000, 10000).schedule).toMatchObject({
      baseLr: 1e-3,
      peakLr: 1e-3,
      warmupSteps: 0,
      decay: 'constant',
      totalSteps: 100,
    });
  });

  it('refuses a resumed run that would change the schedule', () => {
    expect(() => checkResumeOptions({ epochs: 3, lrStepFactor: 0.3, lrStepEpochs: 0.5, warmupEpochs: 1.5 }, config)).not.toThrow();
    for (const change of [
      { lrStepFactor: 0.5 },
      { lrStepEpochs: 1 },
      { warmupEpochs: 1 },
      { lrScaling: 'sqrt' as const },
      { baseBatchSize: 50 },
      { lr: 0.01 },
    ]) {
      expect(() => checkResumeOptions({ epochs: 3, ...change }, config)).toThrow(UsageError);
    }
  });

  it('refuses to resume a cosine schedule for more epochs than it spans, where the lr would be 0', () => {
    const cosine = newRunConfig({ ...flags, lrSchedule: 'cosine' }, DEFAULT_SPEC, 60000, 10000);
    expect(() => checkResumeOptions({ epochs: 3 }, cosine)).not.toThrow();
    expect(() => checkResumeOptions({ epochs: 4 }, cosine)).toThrow(/--epochs 4 goes past the end of the checkpoint's cosine schedule \(3 epochs\)/);
    expect(() => checkResumeOptions({ epochs: 4 }, config)).not.toThrow();
  });
});
