/**
 * `train()`: synchronous data-parallel training of one model over a pool of worker
 * threads, epoch by epoch, with evaluation, checkpoints and exact resume.
 */
import { resolve } from 'node:path';
import { DivergenceError } from '../errors.js';
import { readCheckpoint, writeCheckpoint, assertSameArchitecture } from '../checkpoint/checkpoint.js';
import { assertWritableDirectory } from '../output-dir.js';
import { loadDataset } from '../data/dataset.js';
import { assertModelFits } from '../data/fit.js';
import { bceFloor } from '../data/floor.js';
import { glorotUniformInit } from '../model/init.js';
import { paramLayout } from '../model/layout.js';
import { DEFAULT_SPEC, isClassLoss, type ModelSpec } from '../model/spec.js';
import { testAccuracy } from '../eval/accuracy.js';
import { learningRateAt } from '../optim/schedule.js';
import { allocateBuffers, firstRows, type SharedBuffers } from '../parallel/buffers.js';
import { combineBreakdowns, EVAL_CHUNK, WorkerPool, ZERO_BREAKDOWN, type RunOutcome } from '../parallel/pool.js';
import type { StepPlan } from '../parallel/tasks.js';
import { Rng, type RngState } from '../rng.js';
import { describeMachine } from '../bench/machine.js';
import type { EpochEvent, StartEvent, TrainEvent } from './events.js';
import { writeHistoryFile } from './history-file.js';
import { checkResumeOptions, givenDataset, newRunConfig, resolveCheckpointEvery, resolveEpochs, resolveWorkers, updatesPerEpoch, type RunConfig, type TrainOptions } from './options.js';

/** Where training stands between two steps: all a checkpoint needs besides the buffers. */
export interface TrainingProgress {
  /** Global steps completed (Adam's t of the last update). */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Steps completed within the epoch in progress. */
  readonly stepInEpoch: number;
  /** The RNG before the shuffle of the epoch in progress, so resume redraws the same order. */
  readonly rngAtEpochStart: RngState;
  /** Σ loss, rows and training seconds of the epoch in progress. */
  readonly epochLossSum: number;
  readonly epochRows: number;
  readonly epochSeconds: number;
  readonly elapsedSeconds: number;
  readonly history: readonly EpochEvent[];
}

export interface TrainResult {
  readonly spec: ModelSpec;
  readonly params: Float32Array;
  readonly config: RunConfig;
  readonly epochs: readonly EpochEvent[];
  /** 'stopped' when the signal ended the run early (a checkpoint was written if `out` was set). */
  readonly status: 'completed' | 'stopped';
  readonly progress: TrainingProgress;
  readonly engine: string;
  readonly backend: string;
}

interface Start {
  spec: ModelSpec;
  config: RunConfig;
  progress: TrainingProgress;
  resumedFrom?: string;
}

export async function train(opts: TrainOptions = {}): Promise<TrainResult> {
  const emit = (e: TrainEvent): void => opts.onEvent?.(e);
  const checkpointEvery = resolveCheckpointEvery(opts);
  if (opts.out !== undefined) await assertWritableDirectory(opts.out, '--out');
  // A run resuming into its own --out is that directory's one writer: it settles what an
  // interrupted write left there, even when nothing is left to train and nothing is written.
  const ownsResumed = opts.resume !== undefined && opts.out !== undefined && resolve(opts.resume) === resolve(opts.out);
  const resumed = opts.resume === undefined ? undefined : await readCheckpoint(opts.resume, { settle: ownsResumed });
  if (resumed !== undefined && opts.spec !== undefined) assertSameArchitecture(resumed.spec, opts.spec, opts.resume!);
  const spec = resumed?.spec ?? opts.spec ?? DEFAULT_SPEC;
  const workers = resolveWorkers(opts);
  const epochs = resolveEpochs(opts);
  const data = givenDataset(opts, spec) ?? (await loadDataset({ dir: opts.data, normalize: spec.normalize }));
  assertModelFits(spec, data);

  let start: Start;
  let buffers: SharedBuffers;
  const layout = paramLayout(spec);
  const makeBuffers = (config: Pick<RunConfig, 'shards' | 'trainRows' | 'testRows'>): SharedBuffers =>
    allocateBuffers({
      paramCount: layout.size,
      shards: config.shards,
      workers,
      train: firstRows(data.train, config.trainRows),
      test: firstRows(data.test, config.testRows),
    });
  if (resumed !== undefined) {
    const config = resumed.state.config as unknown as RunConfig;
    checkResumeOptions(opts, config);
    buffers = makeBuffers(config);
    buffers.params.set(resumed.params);
    buffers.m.set(resumed.state.m);
    buffers.v.set(resumed.state.v);
    start = { spec, config, progress: resumed.state.progress as unknown as TrainingProgress, resumedFrom: opts.resume };
  } else {
    const config = newRunConfig(opts, spec, data.train.rows, data.test.rows);
    buffers = makeBuffers(config);
    const rng = Rng.fromSeed(config.seed);
    glorotUniformInit(layout, buffers.params, rng);
    start = {
      spec,
      config,
      progress: { step: 0, epoch: 0, stepInEpoch: 0, rngAtEpochStart: rng.state(), epochLossSum: 0, epochRows: 0, epochSeconds: 0, elapsedSeconds: 0, history: [] },
    };
  }
  const { config } = start;
  const b = buffers;
  const floor = bceFloor(spec, b.train);
  // test_excess compares the test loss with the test targets' own floor, as `corefit eval` does.
  const testFloor = bceFloor(spec, b.test);
  const stepsPerEpoch = updatesPerEpoch(config);
  const plan: StepPlan = {
    workers,
    shards: config.shards,
    batchSize: config.batchSize,
    accumulate: config.accumulate,
    schedule: config.schedule,
    clipNorm: config.clipNorm,
  };
  const pool = new WorkerPool({
    workers,
    buffers: b,
    setup: {
      spec,
      engine: opts.engine ?? 'auto',
      tfjsBackend: opts.tfjsBackend ?? 'auto',
      maxRows: Math.max(Math.ceil(config.batchSize / config.shards), EVAL_CHUNK),
    },
    fault: opts.fault,
  });
  const onAbort = (): void => pool.requestStop();
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) pool.requestStop();

  let progress = start.progress;
  let lastCheckpoint = opts.resume === undefined ? undefined : { dir: opts.resume, step: progress.step };
  const checkpoint = async (): Promise<void> => {
    if (opts.out === undefined) return;
    await writeCheckpoint(opts.out, {
      spec,
      params: b.params,
      state: { m: b.m, v: b.v, step: progress.step, epoch: progress.epoch, rng: progress.rngAtEpochStart, config: config as unknown as Record<string, unknown>, progress: progress as unknown as Record<string, unknown>, history: progress.history as unknown[] },
    });
    lastCheckpoint = { dir: opts.out, step: progress.step };
    emit({ type: 'checkpoint', dir: opts.out, epoch: progress.epoch, step: progress.step });
  };

  try {
    const info = await pool.info();
    const started: StartEvent = {
      type: 'start', model: spec.name, engine: info.engine, backend: info.backend, note: info.note, workers, shards: config.shards,
      batch_size: config.batchSize, accumulate: config.accumulate, epochs, steps_per_epoch: stepsPerEpoch,
      train_rows: config.trainRows, test_rows: config.testRows, data: data.name, bce_floor: floor, lr_schedule: config.schedule,
      resumed_from: start.resumedFrom, machine: describeMachine(info.engine, info.backend),
    };
    emit(started);
    let status: TrainResult['status'] = 'completed';
    const wallStart = performance.now() / 1000 - progress.elapsedSeconds;

    while (progress.epoch < epochs && status === 'completed') {
      const epochStarted = performance.now() / 1000;
      const rng = Rng.fromState(progress.rngAtEpochStart);
      for (let i = 0; i < config.trainRows; i++) b.order[i] = i;
      rng.shuffle(b.order);
      let breakdown = ZERO_BREAKDOWN;
      let breakdownSteps = 0;

      while (progress.stepInEpoch < stepsPerEpoch) {
        const every = checkpointEvery;
        const nextStop = every === undefined ? stepsPerEpoch : Math.min(stepsPerEpoch, progress.stepInEpoch + every - (progress.step % every));
        const outcome = await runWithProgress(pool, plan, progress, nextStop, stepsPerEpoch, floor, emit);
        breakdown = combineBreakdowns(breakdown, breakdownSteps, outcome.breakdown, outcome.steps);
        breakdownSteps += outcome.steps;
        progress = {
          ...progress,
          step: progress.step + outcome.steps,
          stepInEpoch: progress.stepInEpoch + outcome.steps,
          epochLossSum: progress.epochLossSum + outcome.lossSum,
          epochRows: progress.epochRows + outcome.rows,
          epochSeconds: progress.epochSeconds + outcome.seconds,
          elapsedSeconds: performance.now() / 1000 - wallStart,
        };
        if (outcome.diverged !== undefined) {
          throw new DivergenceError(outcome.diverged.step, outcome.diverged.inGradient ? 'the gradient' : 'the loss', lastCheckpoint);
        }
        // An update can overflow the weights with a finite loss; the next step's loss would show it,
        // but not before they were checkpointed (or returned, after the last step).
        if (!b.params.every(Number.isFinite)) throw new DivergenceError(progress.step, 'a weight', lastCheckpoint);
        if (outcome.stopped || pool.stopRequested) {
          status = 'stopped';
          break;
        }
        if (progress.stepInEpoch < stepsPerEpoch) await checkpoint();
      }
      if (status === 'stopped') {
        await checkpoint();
        break;
      }

      const testLoss = (await pool.lossSum('test')) / b.test.rows;
      const trainLoss = progress.epochLossSum / progress.epochRows;
      const report: EpochEvent = {
        type: 'epoch',
        epoch: progress.epoch + 1,
        train_loss: trainLoss,
        test_loss: testLoss,
        bce_floor: floor,
        excess: floor === null ? null : trainLoss - floor,
        test_bce_floor: testFloor,
        test_excess: testFloor === null ? null : testLoss - testFloor,
        test_accuracy: isClassLoss(spec.loss) ? await testAccuracy(pool, spec, b.test) : undefined,
        samples_per_sec: progress.epochRows / progress.epochSeconds,
        worker_samples_per_sec: breakdown.workerRows.map((rows) => (breakdown.step === 0 ? 0 : rows / breakdown.step)),
        seconds: performance.now() / 1000 - epochStarted,
        elapsed_seconds: performance.now() / 1000 - wallStart,
        step: progress.step,
        lr: learningRateAt(config.schedule, Math.max(1, progress.step)),
        step_seconds: breakdown,
        engine: info.engine,
        backend: info.backend,
        workers,
        shards: config.shards,
        batch_size: config.batchSize,
      };
      progress = {
        ...progress,
        epoch: progress.epoch + 1,
        stepInEpoch: 0,
        rngAtEpochStart: rng.state(),
        epochLossSum: 0,
        epochRows: 0,
        epochSeconds: 0,
        elapsedSeconds: report.elapsed_seconds,
        history: [...progress.history, report],
      };
      emit(report);
      await checkpoint();
      if (opts.out !== undefined) await writeHistoryFile(opts.out, { start: started, epochs: progress.history });
      if (opts.out !== undefined || opts.pictures === true) {
        // Loaded only when pictures are asked for: the chart renderer takes about a second to load.
        const { drawTrainingPictures, writePictures } = await import('../report/training-pictures.js');
        const pictures = await drawTrainingPictures({ pool, spec, test: b.test, history: progress.history, imageShape: data.imageShape });
        if (opts.out !== undefined) await writePictures(opts.out, pictures);
        emit({ type: 'pictures', epoch: report.epoch, pictures });
      }
      if (opts.untilTestLoss !== undefined && testLoss <= opts.untilTestLoss) break;
    }
    return {
      spec, params: Float32Array.from(b.params), config, epochs: progress.history, status, progress,
      engine: info.engine, backend: info.backend,
    };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await pool.close();
  }
}

/** Runs steps up to `stepEnd` of the epoch while reporting progress a few times a second. */
async function runWithProgress(
  pool: WorkerPool,
  plan: StepPlan,
  progress: TrainingProgress,
  stepEnd: number,
  stepsPerEpoch: number,
  floor: number | null,
  emit: (e: TrainEvent) => void,
): Promise<RunOutcome> {
  const started = performance.now();
  const timer = setInterval(() => {
    const done = pool.stepsDone();
    if (done === 0) return;
    const seconds = (performance.now() - started) / 1000;
    const rows = pool.buffers.progress[1];
    const rate = rows / seconds;
    const loss = (progress.epochLossSum + pool.buffers.progress[0]) / (progress.epochRows + rows);
    emit({
      type: 'progress',
      epoch: progress.epoch + 1,
      step: progress.stepInEpoch + done,
      steps: stepsPerEpoch,
      loss,
      excess: floor === null ? null : loss - floor,
      samples_per_sec: rate,
      eta_seconds: ((stepsPerEpoch - progress.stepInEpoch - done) * seconds) / done,
    });
  }, 250);
  try {
    return await pool.run(plan, progress.step, progress.stepInEpoch, stepEnd);
  } finally {
    clearInterval(timer);
  }
}
