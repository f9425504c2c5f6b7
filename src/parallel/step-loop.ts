/**
 * One worker's side of synchronous data-parallel training (DESIGN.md, "Data flow of
 * one training step"): compute own shards into own slots, barrier, reduce own blocks
 * across slots and apply Adam to them, barrier.
 */
import { performance } from 'node:perf_hooks';
import type { Engine, EngineData } from '../engine/engine.js';
import { learningRateAt } from '../optim/schedule.js';
import { TIMING_FIELDS, type SharedBuffers } from './buffers.js';
import { barrier, CONTROL, AbortedError } from './control.js';
import { blockChunks, ownedBy, shardBounds } from './shards.js';
import { injectFault } from './fault.js';
import type { RunTask } from './tasks.js';

/** Runs the steps of `task` on this thread; returns how many completed. */
export function runSteps(engine: Engine, task: RunTask): number {
  const { buffers: b, plan, rank } = task;
  const { workers, shards, batchSize, accumulate } = plan;
  const paramCount = b.params.length;
  const control = b.control;
  const data: EngineData = b.train;
  const myShards = ownedBy(rank, workers, shards);
  const myBlocks = myShards.map((blk) => ({ blk, chunks: blockChunks(paramCount, shards, blk) }));
  const slots = Array.from({ length: shards }, (_, s) => b.slots.subarray(s * paramCount, (s + 1) * paramCount));
  const meanGradient = slots[0];
  const timing = b.timing.subarray(rank * TIMING_FIELDS, (rank + 1) * TIMING_FIELDS);
  const rowsPerStep = batchSize * accumulate;

  let done = 0;
  for (let k = task.stepBegin; k < task.stepEnd; k++) {
    if (Atomics.load(control, CONTROL.ABORT) !== 0) throw new AbortedError();
    const t = task.stepsBefore + done + 1;
    injectFault(task, t);
    const stepBegin = k * rowsPerStep;
    const stepEnd = Math.min(stepBegin + rowsPerStep, b.train.rows);

    const t0 = performance.now();
    let myRows = 0;
    for (let micro = 0; micro < accumulate; micro++) {
      const microBegin = stepBegin + micro * batchSize;
      const microRows = Math.max(0, Math.min(batchSize, stepEnd - microBegin));
      for (const s of myShards) {
        const [lo, hi] = shardBounds(microRows, shards, s);
        const rows = b.order.subarray(microBegin + lo, microBegin + hi);
        // A short last batch can leave a shard empty: it contributes nothing.
        if (rows.length === 0) {
          if (micro === 0) {
            slots[s].fill(0);
            b.shardLoss[s] = 0;
          }
          continue;
        }
        const lossSum = engine.gradients(b.params, data, rows, slots[s], micro > 0);
        myRows += rows.length;
        b.shardLoss[s] = micro > 0 ? b.shardLoss[s] + lossSum : lossSum;
      }
    }
    const t1 = performance.now();
    barrier(control, workers);
    const t2 = performance.now();

    // Every worker sums the same values in the same order, so all agree on divergence.
    let stepLoss = 0;
    for (let s = 0; s < shards; s++) stepLoss += b.shardLoss[s];
    if (!Number.isFinite(stepLoss)) {
      if (rank === 0) {
        Atomics.store(control, CONTROL.DIVERGED_IN_GRADIENT, 0);
        Atomics.store(control, CONTROL.DIVERGED_AT, t);
      }
      return done;
    }

    const stepRows = stepEnd - stepBegin;
    for (const { blk, chunks } of myBlocks) {
      let sumSq = 0;
      for (const [lo, hi] of chunks) sumSq += engine.reduceSlots(b.slots, shards, paramCount, lo, hi, stepRows);
      b.blockSumSq[blk] = sumSq;
    }
    let gradScale = 1;
    if (plan.clipNorm > 0) {
      barrier(control, workers);
      let sumSq = 0;
      for (let blk = 0; blk < shards; blk++) sumSq += b.blockSumSq[blk];
      const norm = Math.sqrt(sumSq);
      if (norm > plan.clipNorm) gradScale = plan.clipNorm / norm;
    }
    const lr = learningRateAt(plan.schedule, t);
    for (const { blk, chunks } of myBlocks) {
      if (!Number.isFinite(b.blockSumSq[blk]) || !Number.isFinite(gradScale)) {
        Atomics.store(control, CONTROL.DIVERGED_IN_GRADIENT, 1);
        Atomics.compareExchange(control, CONTROL.DIVERGED_AT, 0, t);
        continue;
      }
      const step = { t, lr, config: task.setup.spec.optimizer, gradScale };
      for (const [lo, hi] of chunks) engine.adam(b.params, b.m, b.v, meanGradient, lo, hi, step);
    }
    const t3 = performance.now();
    barrier(control, workers, () => {
      b.progress[0] += stepLoss;
      b.progress[1] += stepRows;
      if (Atomics.load(control, CONTROL.STOP_REQUESTED) !== 0) Atomics.store(control, CONTROL.STOPPING, 1);
      Atomics.add(control, CONTROL.STEPS_DONE, 1);
      Atomics.notify(control, CONTROL.STEPS_DONE);
    });
    timing[0] += (t1 - t0) / 1000;
    timing[1] += (t2 - t1) / 1000;
    timing[2] += (t3 - t2) / 1000;
    timing[3] += myRows;
    done++;
    if (Atomics.load(control, CONTROL.DIVERGED_AT) !== 0 || Atomics.load(control, CONTROL.STOPPING) !== 0) break;
  }
  return done;
}
