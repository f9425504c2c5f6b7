/**
 * Large batches over time (issue 6): a run stopped during warmup and resumed from its
 * checkpoint continues the learning-rate schedule exactly, and a diverging run stops
 * naming the step while the last good checkpoint stays on disk.
 */
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { DivergenceError } from '../src/errors.js';
import { evaluate } from '../src/eval/evaluate.js';
import { train } from '../src/train/train.js';
import type { TrainOptions } from '../src/train/options.js';
import { sameBits } from './helpers/float-arrays.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-large-batch-');

describe('resuming a run during warmup', () => {
  // 2,000 rows in updates of 2 × 100 rows: 10 steps an epoch; warmup to 2× the lr over 15 steps, then a cosine to step 30.
  const opts: TrainOptions = {
    trainRows: 2000,
    testRows: 1000,
    epochs: 3,
    batchSize: 100,
    accumulate: 2,
    shards: 2,
    workers: 2,
    seed: 11,
    lrScaling: 'linear',
    warmupEpochs: 1.5,
    lrSchedule: 'cosine',
  };

  it('gives the weights and losses of the uninterrupted run, bit for bit', async () => {
    const whole = await train(opts);
    expect(whole.config.schedule).toMatchObject({ baseLr: 1e-3, peakLr: 2e-3, warmupSteps: 15, totalSteps: 30 });

    const dir = freshDir();
    const controller = new AbortController();
    const first = await train({
      ...opts,
      out: dir,
      checkpointEvery: 4,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'checkpoint' && e.step >= 8) controller.abort();
      },
    });
    expect(first.status).toBe('stopped');
    const stoppedAt = first.progress.step;
    expect(stoppedAt).toBeGreaterThan(8);
    expect(stoppedAt).toBeLessThan(15);
    const stored = await readCheckpoint(dir);
    expect(stored.state.run.progress.step).toBe(stoppedAt);
    expect(stored.state.run.config).toMatchObject({ schedule: whole.config.schedule });

    // The checkpoint fixes the shards, so another worker count must not change a bit either.
    const resumed = await train({ resume: dir, out: dir, workers: 1, epochs: 3 });
    expect(resumed.status).toBe('completed');
    expect(resumed.progress.step).toBe(30);
    expect(resumed.config).toEqual(whole.config);
    expect(sameBits(resumed.params, whole.params)).toBe(true);
    expect(resumed.epochs.map((e) => [e.train_loss, e.test_loss, e.lr])).toEqual(whole.epochs.map((e) => [e.train_loss, e.test_loss, e.lr]));
  });
});

describe('a diverging run', () => {
  // 20 steps an epoch; a "step decay" by a huge factor after 10 steps makes step 11 blow the weights up.
  const opts: TrainOptions = {
    trainRows: 2000,
    testRows: 1000,
    epochs: 1,
    batchSize: 100,
    workers: 2,
    seed: 3,
    lrSchedule: 'step',
    lrStepEpochs: 0.5,
  };

  async function expectLastGoodCheckpoint(dir: string, step: number): Promise<void> {
    const kept = await readCheckpoint(dir);
    expect(kept.state.run.progress.step).toBe(step);
    expect(kept.params.every(Number.isFinite)).toBe(true);
    const evaluation = await evaluate(dir, { workers: 1, testRows: 1000 });
    expect(Number.isFinite(evaluation.test_loss)).toBe(true);
  }

  it('stops with a DivergenceError naming the step when the loss is not finite, keeping the checkpoint before it', async () => {
    const dir = freshDir();
    const err = await train({ ...opts, lrStepFactor: 1e9, out: dir, checkpointEvery: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect((err as DivergenceError).step).toBe(12);
    // Which of the two turns non-finite first is the engine's arithmetic (tfjs clips the loss, the native engine does not).
    expect((err as DivergenceError).message).toMatch(/^training diverged at step 12: the (loss|gradient) is not finite$/);
    expect((err as DivergenceError).hint).toMatch(/Lower --lr, add --warmup-epochs/);
    await expectLastGoodCheckpoint(dir, 10);
  });

  it('stops at the update that made a weight non-finite, before checkpointing it', async () => {
    const dir = freshDir();
    // lr 1e-3 · 1e42 overflows float32: step 11 leaves infinite or NaN weights while its loss was finite.
    const err = await train({ ...opts, lrStepFactor: 1e42, out: dir, checkpointEvery: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DivergenceError);
    expect((err as DivergenceError).message).toBe('training diverged at step 11: a weight is not finite');
    await expectLastGoodCheckpoint(dir, 10);
  });
});
