/**
 * Large batches (issue 6): gradient accumulation equals one step of the whole batch,
 * global-norm clipping equals Adam on the scaled gradient, and both keep the
 * arithmetic independent of the worker count when the shards are fixed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { WorkerError } from '../src/errors.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { adamScalars, reduceAdam } from '../src/optim/adam.js';
import { meanGradientSumOfSquares } from '../src/optim/reduce.js';
import { constantSchedule } from '../src/optim/schedule.js';
import { allocateBuffers, type SharedBuffers } from '../src/parallel/buffers.js';
import { WorkerPool } from '../src/parallel/pool.js';
import type { StepPlan } from '../src/parallel/tasks.js';
import { Rng } from '../src/rng.js';
import { train } from '../src/train/train.js';
import type { TrainOptions } from '../src/train/options.js';
import { relativeError, sameBits } from './helpers/float-arrays.js';

const spec = DEFAULT_SPEC;
const paramCount = paramLayout(spec).size;
const LR = 1e-3;
let data: Dataset;

beforeAll(async () => {
  data = await loadDataset({ normalize: true });
  small = { dataset: data, trainRows: 2400, testRows: 1000, epochs: 1, batchSize: 100, seed: 5 };
});

/** A pool over fresh buffers: seeded weights, zero Adam moments, a seeded permutation of the rows. */
async function withPool<T>(o: { workers: number; shards: number; maxRows: number }, use: (pool: WorkerPool, b: SharedBuffers) => Promise<T>): Promise<T> {
  const b = allocateBuffers({ paramCount, shards: o.shards, workers: o.workers, train: data.train, test: data.test });
  glorotUniformInit(paramLayout(spec), b.params, Rng.fromSeed(21));
  for (let i = 0; i < b.order.length; i++) b.order[i] = i;
  Rng.fromSeed(22).shuffle(b.order);
  const pool = new WorkerPool({ workers: o.workers, buffers: b, setup: { spec, engine: 'auto', tfjsBackend: 'auto', maxRows: o.maxRows } });
  try {
    return await use(pool, b);
  } finally {
    await pool.close();
  }
}

function plan(p: Pick<StepPlan, 'workers' | 'shards' | 'batchSize'> & Partial<StepPlan>): StepPlan {
  return { accumulate: 1, schedule: constantSchedule(LR), clipNorm: 0, firstShard: 0, localShards: p.shards, commThread: false, ...p };
}

interface StepResult {
  /** The mean gradient of the step: after one step from m = 0, Adam's m is (1 − β1) · g. */
  readonly gradient: Float32Array;
  readonly params: Float32Array;
  readonly lossSum: number;
}

/** The first update of a fresh run, with engines sized for `maxRows` rows per call. */
function firstStep(p: StepPlan, maxRows: number): Promise<StepResult> {
  return withPool({ workers: p.workers, shards: p.shards, maxRows }, async (pool, b) => {
    const outcome = await pool.run(p, 0, 0, 1);
    expect(outcome.steps).toBe(1);
    return { gradient: b.m.map((mi) => mi / (1 - spec.optimizer.beta1)), params: Float32Array.from(b.params), lossSum: outcome.lossSum };
  });
}

/** Runs on the data loaded once above, as the CLI hands train() the data it linted. */
let small: TrainOptions;

describe('--accumulate K', () => {
  it('equals one step of K × the batch, with engines sized for one micro-batch', async () => {
    const shards = 2;
    // 50 rows per call: one shard of one micro-batch, the memory of batch 100 without accumulation.
    const accumulated = await firstStep(plan({ workers: 2, shards, batchSize: 100, accumulate: 4 }), 50);
    const whole = await firstStep(plan({ workers: 2, shards, batchSize: 400 }), 200);
    expect(relativeError(accumulated.gradient, whole.gradient)).toBeLessThanOrEqual(1e-6);
    expect(relativeError(accumulated.params, whole.params)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(accumulated.lossSum - whole.lossSum) / whole.lossSum).toBeLessThanOrEqual(1e-6);
    // The step really moved the weights, and it is not the gradient of one micro-batch.
    const micro = await firstStep(plan({ workers: 2, shards, batchSize: 100 }), 50);
    expect(relativeError(micro.gradient, whole.gradient)).toBeGreaterThan(0.05);
  });

  it('never asks an engine for more rows than one shard of one micro-batch', async () => {
    const err = await firstStep(plan({ workers: 2, shards: 2, batchSize: 100, accumulate: 4 }), 49).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as Error).message).toMatch(/maxRows/);
  });

  it('gives bitwise identical weights for 1, 2 and 4 workers with --shards 4', async () => {
    const opts: TrainOptions = { ...small, accumulate: 3, shards: 4 };
    const runs = [];
    for (const workers of [1, 2, 4]) runs.push(await train({ ...opts, workers }));
    expect(runs[0].progress.step).toBe(8);
    for (const r of runs.slice(1)) expect(sameBits(r.params, runs[0].params)).toBe(true);
    // And the run follows the same path as batch 300 without accumulation, up to float rounding.
    const whole = await train({ ...small, batchSize: 300, shards: 4, workers: 2 });
    expect(whole.progress.step).toBe(8);
    expect(relativeError(runs[0].params, whole.params)).toBeLessThan(1e-4);
  });
});

describe('--clip-norm C', () => {
  it('updates as Adam does with the mean gradient scaled by C / ‖g‖', async () => {
    const p = plan({ workers: 2, shards: 2, batchSize: 100 });
    await withPool({ workers: 2, shards: 2, maxRows: 50 }, async (pool, b) => {
      // Step 1 gives Adam moments that make the update depend on the gradient's scale.
      await pool.run(p, 0, 0, 1);
      const before = { params: Float32Array.from(b.params), m: Float32Array.from(b.m), v: Float32Array.from(b.v) };
      const restore = (): void => {
        b.params.set(before.params);
        b.m.set(before.m);
        b.v.set(before.v);
      };

      await pool.run(p, 1, 1, 2);
      const slots = Float32Array.from(b.slots); // the two shards' gradients of step 2
      const unclipped = Float32Array.from(b.params);
      const norm = Math.sqrt(meanGradientSumOfSquares(slots, 2, paramCount, 0, paramCount, 1 / 100));
      const clipNorm = norm / 2;

      restore();
      await pool.run({ ...p, clipNorm }, 1, 1, 2);
      expect(sameBits(b.slots, slots)).toBe(true);
      const expected = Float32Array.from(before.params);
      reduceAdam(
        expected,
        Float32Array.from(before.m),
        Float32Array.from(before.v),
        slots,
        2,
        0,
        paramCount,
        adamScalars(
          {
            t: 2,
            lr: LR,
            config: spec.optimizer,
            gradScale: clipNorm / norm,
          },
          100,
        ),
      );
      expect(relativeError(b.params, expected)).toBeLessThanOrEqual(1e-6);
      expect(relativeError(b.params, unclipped)).toBeGreaterThan(1e-4);

      // A threshold above the norm leaves the update as it was.
      restore();
      await pool.run({ ...p, clipNorm: norm * 2 }, 1, 1, 2);
      expect(sameBits(b.params, unclipped)).toBe(true);
    });
  });

  it('gives bitwise identical weights for 1, 2 and 4 workers with --shards 4', async () => {
    const opts: TrainOptions = { ...small, clipNorm: 0.05, shards: 4 };
    const runs = [];
    for (const workers of [1, 2, 4]) runs.push(await train({ ...opts, workers }));
    for (const r of runs.slice(1)) expect(sameBits(r.params, runs[0].params)).toBe(true);
    const unclipped = await train({ ...opts, clipNorm: undefined, workers: 2 });
    expect(relativeError(unclipped.params, runs[0].params)).toBeGreaterThan(1e-4);
  });
});
