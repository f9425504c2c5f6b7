/**
 * `train()`: synchronous data-parallel training of one model over a pool of worker
 * threads, epoch by epoch, with evaluation, checkpoints and exact resume. Setting up
 * is setup.ts's; here are the epoch loop and the report after each epoch.
 */
import { writeCheckpoint } from '../checkpoint/checkpoint.js';
import type { EpochRecord, RankThroughput, RunConfig, RunProgress, RunState } from '../checkpoint/run-state.js';
import { bceFloor } from '../data/floor.js';
import { DivergenceError } from '../errors.js';
import { testAccuracy } from '../eval/accuracy.js';
import { drawPictures } from '../eval/pictures.js';
import { describeMachine } from '../machine.js';
import { isClassLoss, type ModelSpec } from '../model/spec.js';
import { learningRateAt } from '../optim/schedule.js';
import { PROGRESS } from '../parallel/buffers.js';
import { crashInWrite } from '../parallel/fault.js';
import { combineBreakdowns, WorkerPool, ZERO_BREAKDOWN, type RunOutcome, type StepBreakdown } from '../parallel/pool.js';
import type { EngineInfo, StepPlan } from '../parallel/tasks.js';
import { AbortedError, abortRun } from '../parallel/control.js';
import type { ExchangeTotals } from '../parallel/mpi/cross-rank.js';
import { runFingerprint } from './fingerprint.js';
import { Rng, type RngState } from '../rng.js';
import type { EpochEvent, StartEvent, TrainEvent } from './events.js';
import { writeHistoryFile } from './history-file.js';
import { optionWarnings, updatesPerEpoch, type TrainOptions } from './options.js';
import { setUpRun, type RunSetup } from './setup.js';

/** Where training stands between two steps (checkpoint/run-state.ts). */
export type TrainingProgress = RunProgress;

export interface TrainResult {
  readonly spec: ModelSpec;
  readonly params: Float32Array;
  readonly config: RunConfig;
  readonly epochs: readonly EpochRecord[];
  /** 'stopped' when the signal ended the run early (a checkpoint was written if `out` was set). */
  readonly status: 'completed' | 'stopped';
  readonly progress: TrainingProgress;
  readonly engine: string;
  readonly backend: string;
}

/** A run under way: what every epoch of it shares. */
interface Run extends RunSetup {
  readonly opts: TrainOptions;
  readonly emit: (e: TrainEvent) => void;
  /** Rank 0 of an MPI job, or the one process: it reports and writes. */
  readonly lead: boolean;
  readonly pool: WorkerPool;
  readonly info: EngineInfo;
  readonly plan: StepPlan;
  readonly stepsPerEpoch: number;
  /** BCE floors of the training and the test targets (test_excess is measured from the test targets' own). */
  readonly floor: number | null;
  readonly testFloor: number | null;
  /** performance.now() in seconds at the run's start, less the time of the run before a resume. */
  readonly wallStart: number;
  /** The start event, which history.json keeps beside the checkpoint. */
  readonly started: StartEvent;
  /** The last checkpoint written or resumed from, for a DivergenceError to name. */
  lastCheckpoint: { dir: string; step: number } | undefined;
}

const now = (): number => performance.now() / 1000;

export async function train(opts: TrainOptions = {}): Promise<TrainResult> {
  const { comm } = opts;
  // Across MPI ranks, rank 0 speaks and writes for all.
  const lead = (comm?.rank ?? 0) === 0;
  const emit = (e: TrainEvent): void => {
    if (lead) opts.onEvent?.(e);
  };
  const setup = await setUpRun(opts);
  const { spec, buffers: b, workers, state: start } = setup;
  const { config } = start;
  const ranks = comm?.ranks ?? 1;
  const localShards = config.shards / ranks;
  const pool = new WorkerPool({
    workers,
    buffers: b,
    setup: {
      spec,
      engine: opts.engine ?? 'auto',
      tfjsBackend: opts.tfjsBackend ?? 'auto',
      maxRows: setup.maxRows,
    },
    fault: opts.fault,
  });
  const onAbort = (): void => pool.requestStop();
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) pool.requestStop();

  try {
    const info = await pool.info();
    const plan: StepPlan = {
      workers,
      shards: config.shards,
      firstShard: (comm?.rank ?? 0) * localShards,
      localShards,
      commThread: comm !== undefined,
      batchSize: config.batchSize,
      accumulate: config.accumulate,
      schedule: config.schedule,
      clipNorm: config.clipNorm,
    };
    if (comm !== undefined) {
      const fingerprint = runFingerprint(opts, {
        spec,
        config,
        step: start.progress.step,
        epochs: setup.epochs,
      });
      await comm.checkSameRun(fingerprint);
      await comm.prepare({ buffers: b, plan, optimizer: spec.optimizer, kernels: info.engine, timeoutSeconds: comm.timeoutSeconds });
    }
    // Where each rank runs, for rank 0 to report: once per run.
    const hosts = comm === undefined ? undefined : await comm.allgather(comm.host, start.progress.step, "gathering the ranks' host names");
    const started: StartEvent = {
      type: 'start',
      model: spec.name,
      engine: info.engine,
      backend: info.backend,
      note: info.note,
      ranks,
      ...(hosts === undefined ? {} : { hosts }),
      workers,
      shards: config.shards,
      batch_size: config.batchSize,
      accumulate: config.accumulate,
      epochs: setup.epochs,
      steps_per_epoch: updatesPerEpoch(config),
      train_rows: config.trainRows,
      test_rows: config.testRows,
      data: setup.data.name,
      bce_floor: bceFloor(spec, b.train),
      test_bce_floor: bceFloor(spec, b.test),
      warnings: optionWarnings(opts, workers),
      lr_schedule: config.schedule,
      resumed_from: setup.resumedFrom,
      machine: describeMachine(info.engine, info.backend),
    };
    const run: Run = {
      ...setup,
      opts,
      emit,
      pool,
      info,
      lead,
      plan,
      stepsPerEpoch: started.steps_per_epoch,
      floor: started.bce_floor,
      testFloor: started.test_bce_floor,
      wallStart: now() - start.progress.elapsedSeconds,
      started,
      lastCheckpoint: opts.resume === undefined ? undefined : { dir: opts.resume, step: start.progress.step },
    };
    emit(started);
    let state: RunState = start;
    let status: TrainResult['status'] = 'completed';
    while (state.progress.epoch < setup.epochs) {
      const epoch = await runEpoch(run, state);
      if (epoch.stopped) {
        state = { ...state, progress: epoch.progress };
        await checkpoint(run, state);
        status = 'stopped';
        break;
      }
      const reported = await reportEpoch(run, state, epoch);
      state = reported.state;
      if (opts.untilTestLoss !== undefined && reported.testLoss <= opts.untilTestLoss) break;
    }
    const { progress } = state;
    return { spec, params: Float32Array.from(b.params), config, epochs: progress.history, status, progress, engine: info.engine, backend: info.backend };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}

/** Writes the run's checkpoint into --out, if one was given. */
async function checkpoint(run: Run, state: RunState): Promise<void> {
  const { out, comm } = run.opts;
  if (out === undefined) return;
  await comm?.gatherMoments(state.progress.step);
  if (!run.lead) return;
  const b = run.buffers;
  const afterOperation = crashInWrite(run.opts.fault, state.progress.step);
  await writeCheckpoint(out, { spec: run.spec, params: b.params, state: { m: b.m, v: b.v, run: state } }, { afterOperation });
  run.lastCheckpoint = { dir: out, step: state.progress.step };
  run.emit({ type: 'checkpoint', dir: out, epoch: state.progress.epoch, step: state.progress.step });
}

interface EpochSteps {
  /** The progress after the steps (the epoch's sums included), before the epoch's report. */
  readonly progress: RunProgress;
  /** True when a stop was requested before the epoch's last step. */
  readonly stopped: boolean;
  /** The RNG after the epoch's shuffle: the next epoch's. */
  readonly rngAfter: RngState;
  readonly breakdown: StepBreakdown;
  /** Across MPI ranks: the exchange's seconds and bytes, summed over the epoch's steps. */
  readonly exchanged: ExchangeTotals;
  /** now() when the epoch (or its resumed part) started. */
  readonly started: number;
}

/** The steps of the epoch in progress, from where `state` stands, with the mid-epoch checkpoints. */
async function runEpoch(run: Run, state: RunState): Promise<EpochSteps> {
  const { buffers: b, pool, stepsPerEpoch, checkpointEvery: every } = run;
  const started = now();
  const rng = Rng.fromState(state.rng);
  for (let i = 0; i < state.config.trainRows; i++) b.order[i] = i;
  rng.shuffle(b.order);
  let progress = state.progress;
  let breakdown = ZERO_BREAKDOWN;
  let breakdownSteps = 0;
  const exchanged: ExchangeTotals = { steps: 0, localReduce: 0, exchange: 0, update: 0, bytesSent: 0 };
  while (progress.stepInEpoch < stepsPerEpoch) {
    const nextStop = every === undefined ? stepsPerEpoch : Math.min(stepsPerEpoch, progress.stepInEpoch + every - (progress.step % every));
    // The ranks start each run of steps together: else the others' first step would wait out what rank 0 alone
    // does between runs (report the start, write a checkpoint, history and pictures) and count it as their step time.
    await run.opts.comm?.barrier(progress.step, "waiting for rank 0's report");
    const { outcome, exchange } = await runWithProgress(run, progress, nextStop);
    if (exchange !== undefined) for (const key of Object.keys(exchanged) as Array<keyof ExchangeTotals>) exchanged[key] += exchange[key];
    breakdown = combineBreakdowns(breakdown, breakdownSteps, outcome.breakdown, outcome.steps);
    breakdownSteps += outcome.steps;
    progress = {
      ...progress,
      step: progress.step + outcome.steps,
      stepInEpoch: progress.stepInEpoch + outcome.steps,
      epochLossSum: outcome.lossSum,
      epochRows: outcome.rows,
      epochSeconds: progress.epochSeconds + outcome.seconds,
      elapsedSeconds: now() - run.wallStart,
    };
    if (outcome.diverged !== undefined) throw new DivergenceError(outcome.diverged.step, outcome.diverged.what, run.lastCheckpoint);
    // Ranks stop only where they agreed to (outcome.stopped): one stopping alone would leave the others waiting.
    if (outcome.stopped || (run.opts.comm === undefined && pool.stopRequested))
      return { progress, stopped: true, rngAfter: rng.state(), breakdown, exchanged, started };
    if (progress.stepInEpoch < stepsPerEpoch) await checkpoint(run, { ...state, progress });
  }
  return { progress, stopped: false, rngAfter: rng.state(), breakdown, exchanged, started };
}

/** After an epoch's last step: evaluation, the epoch event, the checkpoint, history.json and the pictures. */
async function reportEpoch(run: Run, before: RunState, steps: EpochSteps): Promise<{ state: RunState; testLoss: number }> {
  const { spec, buffers: b, pool, info, floor, testFloor } = run;
  const { config } = before;
  const p = steps.progress;
  const { comm } = run.opts;
  const mine: RankThroughput = { worker_samples_per_sec: workerSamplesPerSec(steps.breakdown), step_seconds: steps.breakdown };
  // Every rank's throughput to rank 0: one small gather per epoch, after its steps, so that no step waits for it.
  const ranks = comm === undefined ? undefined : await comm.allgather(mine, p.step, "gathering the ranks' throughput");
  const testLoss = (await pool.lossSum('test')) / b.test.rows;
  const trainLoss = p.epochLossSum / p.epochRows;
  const accuracy = isClassLoss(spec.loss) ? await testAccuracy(pool, spec, b.test) : undefined;
  const elapsed = now() - run.wallStart;
  const record: EpochRecord = {
    epoch: p.epoch + 1,
    train_loss: trainLoss,
    test_loss: testLoss,
    bce_floor: floor,
    excess: floor === null ? null : trainLoss - floor,
    test_bce_floor: testFloor,
    test_excess: testFloor === null ? null : testLoss - testFloor,
    ...(accuracy === undefined ? {} : { test_accuracy: accuracy }),
    samples_per_sec: p.epochRows / p.epochSeconds,
    worker_samples_per_sec: mine.worker_samples_per_sec,
    seconds: now() - steps.started,
    elapsed_seconds: elapsed,
    step: p.step,
    lr: learningRateAt(config.schedule, Math.max(1, p.step)),
    step_seconds: steps.breakdown,
    engine: info.engine,
    backend: info.backend,
    workers: run.workers,
    shards: config.shards,
    batch_size: config.batchSize,
    ...(ranks === undefined ? {} : { ranks }),
  };
  const progress: RunProgress = {
    ...p,
    epoch: p.epoch + 1,
    stepInEpoch: 0,
    epochLossSum: 0,
    epochRows: 0,
    epochSeconds: 0,
    elapsedSeconds: elapsed,
    history: [...p.history, record],
  };
  const state = { ...before, progress, rng: steps.rngAfter };
  run.emit({ type: 'epoch', ...record, ...(comm === undefined ? {} : { exchange: exchangePerStep(steps.exchanged) }) });
  await checkpoint(run, state);
  const { out } = run.opts;
  if (!run.lead) return { state, testLoss };
  if (out !== undefined) await writeHistoryFile(out, { start: run.started, epochs: progress.history.map((e) => ({ type: 'epoch', ...e })) });
  if (out !== undefined || run.opts.pictures === true) {
    const pictures = await drawPictures(pool, { spec, test: b.test, history: progress.history, imageShape: run.data.imageShape });
    if (out !== undefined) {
      // Loaded by drawPictures already: the chart renderer is loaded only when pictures are asked for.
      const { writeTrainingPictures } = await import('../report/training-pictures.js');
      await writeTrainingPictures(out, pictures);
    }
    run.emit({ type: 'pictures', epoch: record.epoch, pictures });
  }
  return { state, testLoss };
}

/** Each worker's share of the samples/s: the rows it computed per second of step. */
function workerSamplesPerSec(breakdown: StepBreakdown): number[] {
  return breakdown.workerRows.map((rows) => (breakdown.step === 0 ? 0 : rows / breakdown.step));
}

/** The exchange of an epoch's steps across ranks, per step. */
function exchangePerStep(t: ExchangeTotals): NonNullable<EpochEvent['exchange']> {
  const per = (x: number): number => (t.steps === 0 ? 0 : x / t.steps);
  return { local_reduce: per(t.localReduce), exchange: per(t.exchange), update: per(t.update), bytes_sent_per_step: per(t.bytesSent) };
}

/**
 * Runs steps up to `stepEnd` of the epoch while reporting progress a few times a second;
 * across MPI ranks, the communication thread's side of the same steps beside the workers'.
 */
async function runWithProgress(run: Run, progress: RunProgress, stepEnd: number): Promise<{ outcome: RunOutcome; exchange?: ExchangeTotals }> {
  const { pool, stepsPerEpoch, floor } = run;
  const started = performance.now();
  const timer = setInterval(() => {
    const done = pool.stepsDone();
    if (done === 0) return;
    const seconds = (performance.now() - started) / 1000;
    const rows = pool.buffers.progress[PROGRESS.ROWS];
    const loss = pool.buffers.progress[PROGRESS.LOSS_SUM] / rows;
    run.emit({
      type: 'progress',
      epoch: progress.epoch + 1,
      step: progress.stepInEpoch + done,
      steps: stepsPerEpoch,
      loss,
      excess: floor === null ? null : loss - floor,
      samples_per_sec: (rows - progress.epochRows) / seconds,
      eta_seconds: ((stepsPerEpoch - progress.stepInEpoch - done) * seconds) / done,
    });
  }, 250);
  try {
    // The pool first: it resets the control block that the communication thread then waits on.
    const workers = pool.run(run.plan, progress.step, progress.stepInEpoch, stepEnd, { lossSum: progress.epochLossSum, rows: progress.epochRows });
    const { comm } = run.opts;
    if (comm === undefined) return { outcome: await workers };
    const exchange = comm.run(progress.step, progress.stepInEpoch, stepEnd).catch((e: unknown) => {
      abortRun(pool.buffers.control);
      throw e;
    });
    try {
      const [outcome, exchanged] = await Promise.all([workers, exchange]);
      return { outcome, exchange: exchanged.totals };
    } catch (e) {
      // The communication thread saw the abort of a failing worker: that worker's error is the one to report.
      if (e instanceof AbortedError) return { outcome: await workers };
      // Not waiting for the workers: a hung one never returns, and the job is ended anyway.
      throw e;
    }
  } finally {
    clearInterval(timer);
  }
}
