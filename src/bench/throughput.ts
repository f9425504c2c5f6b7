/**
 * Throughput cells of the bench: samples/s of real training steps for each worker
 * count and batch size. Warm-up steps are not counted, each cell is measured several
 * times, and the repetitions are interleaved across cells so that drift on a shared
 * machine hits every configuration alike.
 */
import type { EngineChoice } from '../engine/engine.js';
import { UsageError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { glorotUniformInit } from '../model/init.js';
import { paramLayout } from '../model/layout.js';
import type { ModelSpec } from '../model/spec.js';
import { constantSchedule } from '../optim/schedule.js';
import { allocateBuffers } from '../parallel/buffers.js';
import { combineBreakdowns, EVAL_CHUNK, WorkerPool, ZERO_BREAKDOWN, type StepBreakdown } from '../parallel/pool.js';
import type { StepPlan } from '../parallel/tasks.js';
import { Rng } from '../rng.js';

export interface ThroughputSample {
  readonly workers: number;
  readonly batchSize: number;
  readonly repeat: number;
  readonly steps: number;
  readonly seconds: number;
  readonly samplesPerSec: number;
  readonly breakdown: StepBreakdown;
}

export interface ThroughputOptions {
  readonly spec: ModelSpec;
  readonly data: Dataset;
  readonly engine: EngineChoice;
  readonly workers: readonly number[];
  readonly batchSizes: readonly number[];
  readonly repeats: number;
  /** Either a fixed step count per measurement or a target duration. */
  readonly budget: { readonly steps: number } | { readonly seconds: number };
  readonly onSample?: (s: ThroughputSample, done: number, total: number) => void;
}

/** A pool for one worker count, and where in its shuffled epoch the next step starts. */
interface Bench {
  readonly pool: WorkerPool;
  readonly workers: number;
  stepsBefore: number;
  rowCursor: number;
}

const WARMUP_STEPS = 3;

/** Runs `steps` steps of batch `batchSize`, wrapping around the epoch as needed. */
async function measure(bench: Bench, spec: ModelSpec, batchSize: number, steps: number) {
  const plan: StepPlan = {
    workers: bench.workers, shards: bench.workers, batchSize, accumulate: 1,
    schedule: constantSchedule(spec.optimizer.learningRate), clipNorm: 0,
  };
  const rows = bench.pool.buffers.train.rows;
  const fullSteps = Math.floor(rows / batchSize);
  let done = 0;
  let seconds = 0;
  let breakdown = ZERO_BREAKDOWN;
  while (done < steps) {
    // Steps are indexed within the epoch: start on the next batch boundary of this batch
    // size (the cursor may have been left mid-batch by another batch size).
    let first = Math.ceil(bench.rowCursor / batchSize);
    if (first >= fullSteps) first = 0;
    const run = Math.min(steps - done, fullSteps - first);
    const outcome = await bench.pool.run(plan, bench.stepsBefore, first, first + run);
    bench.stepsBefore += outcome.steps;
    bench.rowCursor = (first + outcome.steps) * batchSize;
    breakdown = combineBreakdowns(breakdown, done, outcome.breakdown, outcome.steps);
    done += outcome.steps;
    seconds += outcome.seconds;
  }
  return { steps: done, seconds, breakdown };
}

export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputSample[]> {
  const layout = paramLayout(opts.spec);
  const maxBatch = Math.max(...opts.batchSizes);
  for (const b of opts.batchSizes) {
    if (b * 2 > opts.data.train.rows) {
      throw new UsageError(`batch size ${b} needs at least ${2 * b} training rows, the data has ${opts.data.train.rows}`, 'Give smaller --batch-sizes, or a larger data set.');
    }
  }
  const benches: Bench[] = [];
  try {
    for (const workers of opts.workers) {
      const buffers = allocateBuffers({ paramCount: layout.size, shards: workers, workers, train: opts.data.train, test: opts.data.test });
      const rng = Rng.fromSeed(1);
      glorotUniformInit(layout, buffers.params, rng);
      for (let i = 0; i < buffers.order.length; i++) buffers.order[i] = i;
      rng.shuffle(buffers.order);
      const pool = new WorkerPool({
        workers, buffers,
        setup: { spec: opts.spec, engine: opts.engine, tfjsBackend: 'auto', maxRows: Math.max(Math.ceil(maxBatch / workers), EVAL_CHUNK) },
      });
      benches.push({ pool, workers, stepsBefore: 0, rowCursor: 0 });
      await pool.info();
    }
    const stepsFor = new Map<string, number>();
    const cells = benches.flatMap((bench) => opts.batchSizes.map((batchSize) => ({ bench, batchSize })));
    for (const { bench, batchSize } of cells) {
      const warm = await measure(bench, opts.spec, batchSize, WARMUP_STEPS);
      const steps = 'steps' in opts.budget
        ? opts.budget.steps
        : Math.max(WARMUP_STEPS, Math.round((opts.budget.seconds * warm.steps) / warm.seconds));
      stepsFor.set(`${bench.workers}/${batchSize}`, steps);
    }
    const samples: ThroughputSample[] = [];
    const total = opts.repeats * cells.length;
    for (let repeat = 0; repeat < opts.repeats; repeat++) {
      for (const { bench, batchSize } of cells) {
        const m = await measure(bench, opts.spec, batchSize, stepsFor.get(`${bench.workers}/${batchSize}`)!);
        const sample = { workers: bench.workers, batchSize, repeat, steps: m.steps, seconds: m.seconds, samplesPerSec: (m.steps * batchSize) / m.seconds, breakdown: m.breakdown };
        samples.push(sample);
        opts.onSample?.(sample, samples.length, total);
      }
    }
    return samples;
  } finally {
    await Promise.all(benches.map((b) => b.pool.close()));
  }
}
