/**
 * Throughput cells of the bench: samples/s of real training steps for each worker
 * count and batch size, and beside each cell of W ≥ 2 workers the machine's own ceiling
 * for it: W independent single-worker trainers at once, each on its own copy of the
 * model with the cell's per-worker batch (forward, backward and a full Adam update, no
 * communication). Warm-up steps are not counted, each cell is measured several times,
 * and the repetitions are interleaved across cells, each ceiling right after its cell,
 * so that drift on a shared machine hits every configuration alike.
 */
import type { EngineChoice } from '../engine/engine.js';
import { UsageError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { glorotUniformInit } from '../model/init.js';
import { paramLayout } from '../model/layout.js';
import type { ModelSpec } from '../model/spec.js';
import { constantSchedule } from '../optim/schedule.js';
import { allocateBuffers } from '../parallel/buffers.js';
import { combineBreakdowns, engineRows, WorkerPool, ZERO_BREAKDOWN, type StepBreakdown } from '../parallel/pool.js';
import { shardBounds } from '../parallel/shards.js';
import type { StepPlan } from '../parallel/tasks.js';
import { Rng } from '../rng.js';

/** W single-worker trainers stepping at once, stopped together after the same wall time. */
export interface IndependentRun {
  /** Σ of the trainers' samples/s: the independent ceiling for W workers. */
  readonly samplesPerSec: number;
  /** Each trainer's samples/s (unequal cores show here). */
  readonly trainers: readonly number[];
  /** The trainers' step breakdown, averaged over them. */
  readonly breakdown: StepBreakdown;
}

export interface ThroughputSample {
  readonly workers: number;
  readonly batchSize: number;
  readonly repeat: number;
  readonly steps: number;
  readonly seconds: number;
  readonly samplesPerSec: number;
  readonly breakdown: StepBreakdown;
  /** The independent ceiling, measured right after this sample; for 1 worker, this sample itself. */
  readonly independent: IndependentRun;
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

interface Measurement {
  readonly steps: number;
  readonly seconds: number;
  readonly breakdown: StepBreakdown;
}

const WARMUP_STEPS = 3;

async function openBench(o: ThroughputOptions, workers: number, maxRows: number, seed: number): Promise<Bench> {
  const layout = paramLayout(o.spec);
  const buffers = allocateBuffers({ paramCount: layout.size, shards: workers, workers, train: o.data.train, test: o.data.test });
  const rng = Rng.fromSeed(seed);
  glorotUniformInit(layout, buffers.params, rng);
  for (let i = 0; i < buffers.order.length; i++) buffers.order[i] = i;
  rng.shuffle(buffers.order);
  const pool = new WorkerPool({ workers, buffers, setup: { spec: o.spec, engine: o.engine, tfjsBackend: 'auto', maxRows } });
  const bench = { pool, workers, stepsBefore: 0, rowCursor: 0 };
  await pool.info();
  return bench;
}

/**
 * Runs `steps` steps of batch `batchSize` (or until a stop is requested), wrapping around
 * the epoch as needed.
 */
async function measure(bench: Bench, spec: ModelSpec, batchSize: number, steps: number): Promise<Measurement> {
  const plan: StepPlan = {
    workers: bench.workers,
    shards: bench.workers,
    firstShard: 0,
    localShards: bench.workers,
    commThread: false,
    batchSize,
    accumulate: 1,
    schedule: constantSchedule(spec.optimizer.learningRate),
    clipNorm: 0,
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
    if (outcome.stopped) break;
  }
  return { steps: done, seconds, breakdown };
}

/** The trainers of one independent ceiling: trainer w takes the rows of shard w of the global batch. */
interface Independent {
  readonly workers: number;
  readonly batchSize: number;
  readonly trainers: ReadonlyArray<{ readonly bench: Bench; readonly batchSize: number }>;
}

/** Every trainer at once for `seconds` of wall time; each stops after its step in progress. */
async function measureIndependent(ind: Independent, spec: ModelSpec, seconds: number): Promise<IndependentRun> {
  const timer = setTimeout(() => ind.trainers.forEach((t) => t.bench.pool.requestStop()), seconds * 1000);
  let runs: Measurement[];
  try {
    runs = await Promise.all(ind.trainers.map((t) => measure(t.bench, spec, t.batchSize, Infinity)));
  } finally {
    clearTimeout(timer);
    for (const t of ind.trainers) t.bench.pool.clearStopRequest();
  }
  const trainers = runs.map((r, w) => (r.steps * ind.trainers[w].batchSize) / r.seconds);
  const breakdown = runs.reduce((sum, r, w) => combineBreakdowns(sum, w, r.breakdown, 1), ZERO_BREAKDOWN);
  return { samplesPerSec: trainers.reduce((a, b) => a + b, 0), trainers, breakdown };
}

export async function measureThroughput(opts: ThroughputOptions): Promise<ThroughputSample[]> {
  const maxBatch = Math.max(...opts.batchSizes);
  for (const b of opts.batchSizes) {
    if (b * 2 > opts.data.train.rows) {
      throw new UsageError(
        `batch size ${b} needs at least ${2 * b} training rows, the data has ${opts.data.train.rows}`,
        'Give smaller --batch-sizes, or a larger data set.',
      );
    }
  }
  const benches: Bench[] = [];
  const independents = new Map<number, Bench[]>();
  try {
    for (const workers of opts.workers) {
      benches.push(await openBench(opts, workers, engineRows(maxBatch, workers), 1));
      if (workers > 1) {
        const trainers: Bench[] = [];
        for (let w = 0; w < workers; w++) trainers.push(await openBench(opts, 1, Math.ceil(maxBatch / workers), 2 + w));
        independents.set(workers, trainers);
      }
    }
    const cells = benches.flatMap((bench) =>
      opts.batchSizes.map((batchSize) => {
        const trainers = independents.get(bench.workers);
        const independent: Independent | undefined = trainers && {
          workers: bench.workers,
          batchSize,
          trainers: trainers.map((t, w) => {
            const [lo, hi] = shardBounds(batchSize, bench.workers, w);
            return { bench: t, batchSize: hi - lo };
          }),
        };
        return { bench, batchSize, independent, steps: 0, independentSeconds: 0 };
      }),
    );
    for (const cell of cells) {
      const warm = await measure(cell.bench, opts.spec, cell.batchSize, WARMUP_STEPS);
      cell.steps = 'steps' in opts.budget ? opts.budget.steps : Math.max(WARMUP_STEPS, Math.round((opts.budget.seconds * warm.steps) / warm.seconds));
      if (cell.independent !== undefined) {
        const trainers = cell.independent.trainers;
        const warmed = await Promise.all(trainers.map((t) => measure(t.bench, opts.spec, t.batchSize, WARMUP_STEPS)));
        // As long as the cell's own measurement: its seconds, or its steps at the trainers' pace.
        cell.independentSeconds = 'seconds' in opts.budget ? opts.budget.seconds : opts.budget.steps * Math.max(...warmed.map((m) => m.seconds / m.steps));
      }
    }
    const samples: ThroughputSample[] = [];
    const total = opts.repeats * cells.length;
    for (let repeat = 0; repeat < opts.repeats; repeat++) {
      for (const cell of cells) {
        const { bench, batchSize } = cell;
        const m = await measure(bench, opts.spec, batchSize, cell.steps);
        const samplesPerSec = (m.steps * batchSize) / m.seconds;
        const independent =
          cell.independent === undefined
            ? { samplesPerSec, trainers: [samplesPerSec], breakdown: m.breakdown }
            : await measureIndependent(cell.independent, opts.spec, cell.independentSeconds);
        const sample = { workers: bench.workers, batchSize, repeat, steps: m.steps, seconds: m.seconds, samplesPerSec, breakdown: m.breakdown, independent };
        samples.push(sample);
        opts.onSample?.(sample, samples.length, total);
      }
    }
    return samples;
  } finally {
    await Promise.all([...benches, ...[...independents.values()].flat()].map((b) => b.pool.close()));
  }
}
