/**
 * The data-parallel trainer's promises (ARCHITECTURE.md, invariants): identical results run
 * after run, identical results for any worker count with fixed shards, and an
 * all-reduced gradient equal to the single-engine gradient of the whole batch.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../src/engine/select.js';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { paramLayout } from '../src/model/layout.js';
import { glorotUniformInit } from '../src/model/init.js';
import { constantSchedule } from '../src/optim/schedule.js';
import { allocateBuffers } from '../src/parallel/buffers.js';
import { EVAL_CHUNK, WorkerPool } from '../src/parallel/pool.js';
import { Rng } from '../src/rng.js';
import { train } from '../src/train/train.js';
import { UsageError, WorkerError } from '../src/errors.js';
import type { TrainOptions } from '../src/train/options.js';
import { relativeError, sameBits } from './helpers/float-arrays.js';

let data: Dataset;
/** Runs on the data loaded once below, as the CLI hands train() the data it linted. */
let small: TrainOptions;

beforeAll(async () => {
  data = await loadDataset({ normalize: true });
  small = { dataset: data, trainRows: 2000, testRows: 1000, epochs: 1, batchSize: 100, seed: 7 };
});

describe('data-parallel training', () => {
  it('gives bitwise identical weights run after run', async () => {
    const a = await train({ ...small, workers: 2 });
    const b = await train({ ...small, workers: 2 });
    expect(sameBits(a.params, b.params)).toBe(true);
    expect(a.epochs[0].test_loss).toBe(b.epochs[0].test_loss);
  });

  it('gives bitwise identical weights for 1, 2, 3 and 4 workers with --shards 4 (20 steps)', async () => {
    const runs = [];
    for (const workers of [1, 2, 3, 4]) runs.push(await train({ ...small, workers, shards: 4 }));
    expect(runs[0].progress.step).toBe(20);
    for (const r of runs.slice(1)) {
      expect(sameBits(r.params, runs[0].params)).toBe(true);
      expect(r.epochs[0].test_loss).toBe(runs[0].epochs[0].test_loss);
    }
    // The weights really moved: a different shard count changes the float rounding, not the model.
    const other = await train({ ...small, workers: 2, shards: 2 });
    expect(sameBits(other.params, runs[0].params)).toBe(false);
    expect(relativeError(other.params, runs[0].params)).toBeLessThan(1e-3);
  });

  it('handles a short last batch and a batch not divisible by the shard count', async () => {
    const opts: TrainOptions = { ...small, trainRows: 1050, batchSize: 101, shards: 4 };
    const one = await train({ ...opts, workers: 1 });
    const four = await train({ ...opts, workers: 4 });
    expect(one.progress.step).toBe(11);
    expect(sameBits(four.params, one.params)).toBe(true);
    expect(Number.isFinite(one.epochs[0].train_loss)).toBe(true);
  });

  it('all-reduces to the single-engine gradient of the whole batch', async () => {
    // After one step from m = 0, Adam's m is (1 − β1) · g: the all-reduced gradient.
    const spec = DEFAULT_SPEC;
    const layout = paramLayout(spec);
    const workers = 2;
    const batch = 100;
    const buffers = allocateBuffers({ paramCount: layout.size, shards: workers, workers, train: data.train, test: data.test });
    glorotUniformInit(layout, buffers.params, Rng.fromSeed(3));
    for (let i = 0; i < buffers.order.length; i++) buffers.order[i] = i;
    Rng.fromSeed(4).shuffle(buffers.order);
    const initial = Float32Array.from(buffers.params);
    const pool = new WorkerPool({ workers, buffers, setup: { spec, engine: 'auto', tfjsBackend: 'auto', maxRows: EVAL_CHUNK } });
    try {
      const plan = {
        workers,
        shards: workers,
        firstShard: 0,
        localShards: workers,
        commThread: false,
        batchSize: batch,
        accumulate: 1,
        schedule: constantSchedule(1e-3),
        clipNorm: 0,
      };
      const outcome = await pool.run(plan, 0, 0, 1);
      expect(outcome.steps).toBe(1);
      const allReduced = buffers.m.map((mi) => mi / (1 - spec.optimizer.beta1));

      const engine = await createEngine('auto', spec, batch);
      const whole = new Float32Array(layout.size);
      const lossSum = engine.gradients(initial, data.train, buffers.order.subarray(0, batch), whole, false);
      for (let i = 0; i < whole.length; i++) whole[i] /= batch;
      engine.dispose();
      expect(relativeError(allReduced, whole)).toBeLessThanOrEqual(1e-6);
      expect(outcome.lossSum).toBeCloseTo(lossSum, 3);
    } finally {
      await pool.close();
    }
  });

  it('refuses a batch smaller than the shard count and zero workers, clearly', async () => {
    await expect(train({ ...small, batchSize: 3, shards: 4, workers: 2 })).rejects.toThrow(/--batch-size \(3\) is smaller than the shard count \(4\)/);
    await expect(train({ ...small, workers: 0 })).rejects.toBeInstanceOf(UsageError);
    await expect(train({ ...small, workers: 3, shards: 2 })).rejects.toThrow(/must not exceed --shards/);
  });

  it('stops on a worker that throws, naming the worker and the step', async () => {
    const err = await train({ ...small, workers: 2, fault: { rank: 1, step: 5, kind: 'throw' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).message).toMatch(/worker 1 failed at step 5: .*injected fault/);
  });

  it('stops on a worker thread that exits', async () => {
    const err = await train({ ...small, workers: 2, fault: { rank: 0, step: 3, kind: 'exit' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).message).toMatch(/worker 0 failed at step 3: .*exit/);
  });
});
