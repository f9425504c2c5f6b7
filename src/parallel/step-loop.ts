/**
 * One worker's side of synchronous data-parallel training (ARCHITECTURE.md, "Data flow
 * of one step"): compute own shards into own slots, barrier, the collective step on own
 * blocks (parallel/collective.ts), barrier.
 */
import { performance } from 'node:perf_hooks';
import type { Engine, EngineData } from '../engine/engine.js';
import type { UpdateKernels } from '../optim/update-kernels.js';
import { PROGRESS, TIMING, TIMING_FIELDS } from './buffers.js';
import { divergenceOf, SharedCollective } from './collective.js';
import { barrier, CONTROL, AbortedError } from './control.js';
import { ownedBy, shardBounds } from './shards.js';
import { injectFault } from './fault.js';
import type { RunTask } from './tasks.js';

/** Runs the steps of `task` on this thread; returns how many completed. */
export function runSteps(engine: Engine, kernels: UpdateKernels, task: RunTask): number {
  const { buffers: b, plan, rank } = task;
  const { workers, shards, batchSize, accumulate, firstShard, localShards } = plan;
  const paramCount = b.params.length;
  const control = b.control;
  const data: EngineData = b.train;
  // This worker's shards, as indices into the process's slots (global shard firstShard + l).
  const myShards = ownedBy(rank, workers, localShards);
  const slots = Array.from({ length: localShards }, (_, s) => b.slots.subarray(s * paramCount, (s + 1) * paramCount));
  // Across MPI ranks, the communication thread is a party of every barrier and runs the collective step.
  const parties = workers + (plan.commThread ? 1 : 0);
  const collective = plan.commThread ? undefined : new SharedCollective(kernels, b, plan, rank, task.setup.spec.optimizer);
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
      for (const l of myShards) {
        const s = firstShard + l;
        const [lo, hi] = shardBounds(microRows, shards, s);
        const rows = b.order.subarray(microBegin + lo, microBegin + hi);
        // A short last batch can leave a shard empty: it contributes nothing.
        if (rows.length === 0) {
          if (micro === 0) {
            slots[l].fill(0);
            b.shardLoss[s] = 0;
          }
          continue;
        }
        const lossSum = engine.gradients(b.params, data, rows, slots[l], micro > 0);
        myRows += rows.length;
        b.shardLoss[s] = micro > 0 ? b.shardLoss[s] + lossSum : lossSum;
      }
    }
    const t1 = performance.now();
    barrier(control, parties);
    const t2 = performance.now();

    if (collective === undefined) {
      // The communication thread exchanges, updates and counts the step (parallel/mpi/cross-rank.ts).
      barrier(control, parties);
      timing[TIMING.COMPUTE] += (t1 - t0) / 1000;
      timing[TIMING.WAIT_SLOWEST] += (t2 - t1) / 1000;
      timing[TIMING.REDUCE_UPDATE] += (performance.now() - t2) / 1000;
      timing[TIMING.ROWS] += myRows;
      const diverged = divergenceOf(control);
      // A non-finite loss stops before the update, as below: the step does not count.
      if (diverged?.what === 'loss') return done;
      done++;
      if (diverged !== undefined || Atomics.load(control, CONTROL.STOPPING) !== 0) break;
      continue;
    }

    const stepRows = stepEnd - stepBegin;
    const stepLoss = collective.step(t, stepRows);
    if (stepLoss === undefined) return done;
    const t3 = performance.now();
    barrier(control, workers, () => {
      b.progress[PROGRESS.LOSS_SUM] += stepLoss;
      b.progress[PROGRESS.ROWS] += stepRows;
      if (Atomics.load(control, CONTROL.STOP_REQUESTED) !== 0) Atomics.store(control, CONTROL.STOPPING, 1);
      Atomics.add(control, CONTROL.STEPS_DONE, 1);
      Atomics.notify(control, CONTROL.STEPS_DONE);
    });
    timing[TIMING.COMPUTE] += (t1 - t0) / 1000;
    timing[TIMING.WAIT_SLOWEST] += (t2 - t1) / 1000;
    timing[TIMING.REDUCE_UPDATE] += (t3 - t2) / 1000;
    timing[TIMING.ROWS] += myRows;
    done++;
    const stopping = Atomics.load(control, CONTROL.STOPPING) !== 0;
    if (stopping || k + 1 === task.stepEnd) collective.checkWeights(t);
    if (Atomics.load(control, CONTROL.DIVERGED_AT) !== 0 || stopping) break;
  }
  return done;
}
