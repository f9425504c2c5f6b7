/**
 * The coordinator's handle on the workers: a Piscina pool of persistent threads,
 * one engine each, and the shared buffers they work on. It dispatches runs of steps
 * (one small message per worker per run, not per step), evaluation and prediction,
 * and turns any worker failure into a WorkerError after stopping every thread.
 */
import { randomUUID } from 'node:crypto';
import { Piscina } from 'piscina';
import { WorkerError } from '../errors.js';
import { TRAIN_WORKER } from '../paths.js';
import { prepareEngineThreads } from '../engine/select.js';
import { PROGRESS, TIMING, TIMING_FIELDS, type SharedBuffers } from './buffers.js';
import { divergenceOf, type Divergence } from './collective.js';
import { abortRun, CONTROL } from './control.js';
import type { EngineInfo, EngineSetup, InjectedFault, RunResult, StepPlan, WorkerTask } from './tasks.js';

/** Rows per evaluation task: fixed, so evaluated losses do not depend on the worker count. */
export const EVAL_CHUNK = 1000;

/** Rows of an engine's largest call: one shard of a batch of `batchSize` rows, or an evaluation chunk. */
export function engineRows(batchSize: number, shards: number): number {
  return Math.max(Math.ceil(batchSize / shards), EVAL_CHUNK);
}

/**
 * Each worker's V8 heap limit. Data, weights and gradients live on SharedArrayBuffers
 * and engine workspaces off the heap, so a training thread uses about 40 MB of heap
 * (measured with both engines); a runaway thread fails fast with a clear error
 * instead of taking gigabytes from the machine first.
 */
export const WORKER_HEAP_MB = 512;

/** Seconds per step, averaged over the workers and the steps of a run. */
export interface StepBreakdown {
  readonly step: number;
  readonly compute: number;
  readonly waitSlowest: number;
  readonly reduceUpdate: number;
  readonly coordination: number;
  /** Rows each worker computed per step, by rank: its share of the throughput is rows / step. */
  readonly workerRows: readonly number[];
}

export const ZERO_BREAKDOWN: StepBreakdown = { step: 0, compute: 0, waitSlowest: 0, reduceUpdate: 0, coordination: 0, workerRows: [] };

/** The per-step average over aSteps steps of `a` followed by bSteps steps of `b`. */
export function combineBreakdowns(a: StepBreakdown, aSteps: number, b: StepBreakdown, bSteps: number): StepBreakdown {
  const n = aSteps + bSteps;
  if (n === 0) return b;
  const mix = (x: number, y: number): number => (x * aSteps + y * bSteps) / n;
  return {
    step: mix(a.step, b.step),
    compute: mix(a.compute, b.compute),
    waitSlowest: mix(a.waitSlowest, b.waitSlowest),
    reduceUpdate: mix(a.reduceUpdate, b.reduceUpdate),
    coordination: mix(a.coordination, b.coordination),
    workerRows: b.workerRows.map((rows, w) => mix(a.workerRows[w] ?? 0, rows)),
  };
}

export interface RunOutcome {
  readonly steps: number;
  /** Σ loss and rows of the epoch's steps so far, those before the run included. */
  readonly lossSum: number;
  readonly rows: number;
  readonly seconds: number;
  readonly breakdown: StepBreakdown;
  /** Where and in what training diverged. */
  readonly diverged?: Divergence;
  readonly stopped: boolean;
}

export interface PoolOptions {
  readonly workers: number;
  readonly buffers: SharedBuffers;
  readonly setup: Omit<EngineSetup, 'sessionId'>;
  readonly fault?: InjectedFault;
}

export class WorkerPool {
  readonly workers: number;
  readonly buffers: SharedBuffers;
  private readonly setup: EngineSetup;
  private readonly fault: InjectedFault | undefined;
  private readonly piscina: Piscina<WorkerTask, unknown>;
  private closed = false;

  constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) {
      throw new RangeError(`WorkerPool: workers must be a whole number ≥ 1, got ${opts.workers}`);
    }
    this.workers = opts.workers;
    this.buffers = opts.buffers;
    this.setup = { ...opts.setup, sessionId: randomUUID() };
    this.fault = opts.fault;
    prepareEngineThreads();
    this.piscina = new Piscina({
      filename: TRAIN_WORKER,
      minThreads: opts.workers,
      maxThreads: opts.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: 2 ** 31 - 1,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
  }

  /** Builds the engines and says which one runs. */
  async info(): Promise<EngineInfo> {
    const infos = (await Promise.all(this.ranks().map(() => this.task({ kind: 'info', setup: this.setup })))) as EngineInfo[];
    return infos[0];
  }

  /** Asks the running steps to stop after the step in progress (SIGINT, SIGTERM). */
  requestStop(): void {
    Atomics.store(this.buffers.control, CONTROL.STOP_REQUESTED, 1);
  }

  /** Withdraws a stop request, so that the next run goes on (the bench ends runs by time this way). */
  clearStopRequest(): void {
    Atomics.store(this.buffers.control, CONTROL.STOP_REQUESTED, 0);
  }

  get stopRequested(): boolean {
    return Atomics.load(this.buffers.control, CONTROL.STOP_REQUESTED) !== 0;
  }

  /** Steps completed so far in the run in progress. */
  stepsDone(): number {
    return Atomics.load(this.buffers.control, CONTROL.STEPS_DONE);
  }

  /**
   * Runs steps [stepBegin, stepEnd) of the current epoch on every worker. `before` is the
   * Σ loss and rows of the epoch's steps before these: the steps add on to it one by one,
   * so that the epoch's sum is the same however its steps are split into runs.
   */
  async run(plan: StepPlan, stepsBefore: number, stepBegin: number, stepEnd: number, before = { lossSum: 0, rows: 0 }): Promise<RunOutcome> {
    const b = this.buffers;
    const c = b.control;
    Atomics.store(c, CONTROL.STEPS_DONE, 0);
    Atomics.store(c, CONTROL.STOPPING, 0);
    Atomics.store(c, CONTROL.BARRIER_COUNT, 0);
    b.progress[PROGRESS.LOSS_SUM] = before.lossSum;
    b.progress[PROGRESS.ROWS] = before.rows;
    b.timing.fill(0);
    const started = performance.now();
    const results = await this.all(
      (rank) => ({ kind: 'run', setup: this.setup, buffers: b, plan, rank, stepsBefore, stepBegin, stepEnd, fault: this.fault }),
      () => stepsBefore + this.stepsDone() + 1,
    );
    const seconds = (performance.now() - started) / 1000;
    const steps = Math.min(...(results as RunResult[]).map((r) => r.steps));
    return {
      steps,
      lossSum: b.progress[PROGRESS.LOSS_SUM],
      rows: b.progress[PROGRESS.ROWS],
      seconds,
      breakdown: this.breakdown(steps, seconds),
      diverged: divergenceOf(c),
      stopped: Atomics.load(c, CONTROL.STOPPING) !== 0,
    };
  }

  /** Σ of the per-row loss over the first `rows` rows of a split, summed in a fixed order. */
  async lossSum(split: 'train' | 'test', rows = this.buffers[split].rows): Promise<number> {
    const chunks = this.chunks(rows);
    const sums = (await Promise.all(
      chunks.map(([begin, end]) => this.task({ kind: 'loss', setup: this.setup, buffers: this.buffers, split, begin, end })),
    )) as number[];
    return sums.reduce((a, x) => a + x, 0);
  }

  /** Outputs (or the activations of `layer`) for rows [0, rows) of a split, [rows, units]. */
  async predict(split: 'train' | 'test', rows: number, layer = this.setup.spec.layers.length - 1): Promise<Float32Array> {
    const units = this.setup.spec.layers[layer].units;
    const out = new Float32Array(new SharedArrayBuffer(rows * units * 4));
    await Promise.all(
      this.chunks(rows).map(([begin, end]) =>
        this.task({
          kind: 'predict',
          setup: this.setup,
          buffers: this.buffers,
          split,
          begin,
          end,
          layer,
          out: out.subarray(begin * units, end * units),
        }),
      ),
    );
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    abortRun(this.buffers.control);
    await this.piscina.destroy();
  }

  private ranks(): number[] {
    return Array.from({ length: this.workers }, (_, rank) => rank);
  }

  private chunks(rows: number): Array<[number, number]> {
    const chunks: Array<[number, number]> = [];
    for (let begin = 0; begin < rows; begin += EVAL_CHUNK) chunks.push([begin, Math.min(begin + EVAL_CHUNK, rows)]);
    return chunks;
  }

  private task(task: WorkerTask): Promise<unknown> {
    return this.piscina.run(task).catch((cause: unknown) => {
      throw new WorkerError(describe(cause), { during: task.kind === 'info' ? 'start-up' : task.kind === 'loss' ? 'evaluation' : 'prediction' }, { cause });
    });
  }

  /**
   * One task per worker. The first failure aborts the others (they are waiting in a
   * barrier for the failed one), and all are settled before the error is raised, so
   * no thread is left computing.
   */
  private async all(make: (rank: number) => WorkerTask, stepInProgress: () => number): Promise<unknown[]> {
    let failure: { rank: number; step: number; cause: unknown } | undefined;
    const settled = await Promise.allSettled(
      this.ranks().map((rank) =>
        this.piscina.run(make(rank)).catch((cause: unknown) => {
          if (failure === undefined) failure = { rank, step: stepInProgress(), cause };
          abortRun(this.buffers.control);
          throw cause;
        }),
      ),
    );
    if (failure !== undefined) {
      throw new WorkerError(describe(failure.cause), { worker: failure.rank, step: failure.step }, { cause: failure.cause });
    }
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }

  private breakdown(steps: number, seconds: number): StepBreakdown {
    const perStep = (field: (typeof TIMING)[keyof typeof TIMING]): number => {
      let sum = 0;
      for (let w = 0; w < this.workers; w++) sum += this.buffers.timing[w * TIMING_FIELDS + field];
      return steps === 0 ? 0 : sum / this.workers / steps;
    };
    const step = steps === 0 ? 0 : seconds / steps;
    const compute = perStep(TIMING.COMPUTE);
    const waitSlowest = perStep(TIMING.WAIT_SLOWEST);
    const reduceUpdate = perStep(TIMING.REDUCE_UPDATE);
    const workerRows = this.ranks().map((w) => (steps === 0 ? 0 : this.buffers.timing[w * TIMING_FIELDS + TIMING.ROWS] / steps));
    return { step, compute, waitSlowest, reduceUpdate, coordination: Math.max(0, step - compute - waitSlowest - reduceUpdate), workerRows };
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    if (/ERR_WORKER_OUT_OF_MEMORY/.test(String((cause as { code?: string }).code)) || /out of memory/i.test(cause.message)) {
      return `ran out of memory: it reached the ${WORKER_HEAP_MB} MB heap limit of a worker thread (${cause.message})`;
    }
    return cause.message;
  }
  return String(cause);
}
