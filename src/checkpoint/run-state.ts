/**
 * The run state: what `--resume` needs besides the buffers (weights, Adam's m and v),
 * each thing once. The run config decides the numbers a run produces; the progress says
 * where the run stands between two steps; the RNG is the one the shuffle of the epoch in
 * progress started from. `runStateFromJson` is its one validated reader, `runStateToJson`
 * its one writer.
 */
import { LR_DECAYS, LR_SCALINGS, type LrScaling, type LrSchedule } from '../optim/schedule.js';
import type { StepBreakdown } from '../parallel/pool.js';
import type { RngState } from '../rng.js';

/** Which rows a run trains and tests on, by name and content (train/data-identity.ts). */
export interface DataIdentity {
  /** The data set's name: `mnist`, or the --data folder's name. */
  readonly name: string;
  /** SHA-256 (first 16 hex digits) of the rows used, as the engine sees them: features and labels, train then test. */
  readonly rowsSha256: string;
}

/** Everything that decides the numbers a run produces. */
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
  /** The rows trained and tested on; absent in checkpoints of corefit before 0.1.0's data check. */
  readonly data?: DataIdentity;
}

/** One completed epoch, as the trainer reports it (its `epoch` event) and keeps it. */
export interface EpochRecord {
  readonly epoch: number;
  readonly train_loss: number;
  readonly test_loss: number;
  /** Mean binary entropy of the targets: the least BCE can reach; null for other losses. */
  readonly bce_floor: number | null;
  readonly excess: number | null;
  /** The floor of the test targets, which test_excess is measured from. */
  readonly test_bce_floor: number | null;
  readonly test_excess: number | null;
  /** Classifiers only: share of test rows whose arg-max output is the label. */
  readonly test_accuracy?: number;
  readonly samples_per_sec: number;
  /** Each worker's share of samples_per_sec (the rows it computed per second of training), by rank. */
  readonly worker_samples_per_sec: readonly number[];
  readonly seconds: number;
  /** Wall time since the start of training (all epochs, evaluation included). */
  readonly elapsed_seconds: number;
  readonly step: number;
  readonly lr: number;
  readonly step_seconds: StepBreakdown;
  readonly engine: string;
  readonly backend: string;
  readonly workers: number;
  readonly shards: number;
  readonly batch_size: number;
  /** Across MPI ranks: every rank's own throughput, in rank order (the fields above are rank 0's, or the job's). */
  readonly ranks?: readonly RankThroughput[];
}

/** One MPI rank's part of an epoch: its workers' samples/s and its step time, as the one process's fields above. */
export interface RankThroughput {
  readonly worker_samples_per_sec: readonly number[];
  readonly step_seconds: StepBreakdown;
}

/** Where training stands between two steps. */
export interface RunProgress {
  /** Global steps completed (Adam's t of the last update). */
  readonly step: number;
  /** Epochs completed. */
  readonly epoch: number;
  /** Steps completed within the epoch in progress. */
  readonly stepInEpoch: number;
  /** Σ loss, rows and training seconds of the epoch in progress. */
  readonly epochLossSum: number;
  readonly epochRows: number;
  readonly epochSeconds: number;
  readonly elapsedSeconds: number;
  /** The completed epochs, oldest first. */
  readonly history: readonly EpochRecord[];
}

export interface RunState {
  readonly config: RunConfig;
  readonly progress: RunProgress;
  /** The RNG before the shuffle of the epoch in progress, so that a resumed run redraws the same order. */
  readonly rng: RngState;
}

type Json = Readonly<Record<string, unknown>>;

/** The run state as a plain object (for msgpack): exactly its fields. */
export function runStateToJson(state: RunState): Json {
  const { config, progress, rng } = state;
  return {
    config: { ...config, schedule: { ...config.schedule }, ...(config.data === undefined ? {} : { data: { ...config.data } }) },
    progress: { ...progress, history: progress.history.map((e) => ({ ...e })) },
    rng: [...rng],
  };
}

class Fields {
  constructor(
    private readonly where: string,
    private readonly o: Json,
  ) {}

  static of(where: string, v: unknown): Fields {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new Error(`${where} must be a map`);
    return new Fields(where, v as Json);
  }

  private fail(key: string, what: string): never {
    throw new Error(`${this.where}.${key} must be ${what}, got ${JSON.stringify(this.o[key]) ?? 'nothing'}`);
  }

  number(key: string): number {
    const v = this.o[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(key, 'a finite number');
  }

  count(key: string, min = 0): number {
    const v = this.o[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= min ? v : this.fail(key, `a whole number ≥ ${min}`);
  }

  numberOrNull(key: string): number | null {
    return this.o[key] === null ? null : this.number(key);
  }

  optionalNumber(key: string): number | undefined {
    return this.o[key] === undefined ? undefined : this.number(key);
  }

  string(key: string): string {
    const v = this.o[key];
    return typeof v === 'string' ? v : this.fail(key, 'a string');
  }

  oneOf<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.o[key];
    return (choices as readonly unknown[]).includes(v) ? (v as T) : this.fail(key, `one of ${choices.join(', ')}`);
  }

  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  map(key: string): Fields {
    return Fields.of(`${this.where}.${key}`, this.o[key]);
  }

  array(key: string): readonly unknown[] {
    const v = this.o[key];
    return Array.isArray(v) ? v : this.fail(key, 'an array');
  }

  /** The array at `key`, each element a map. */
  maps(key: string): Fields[] {
    return this.array(key).map((v, i) => Fields.of(`${this.where}.${key}[${i}]`, v));
  }

  numbers(key: string): readonly number[] {
    const v = this.o[key];
    return Array.isArray(v) && v.every((n) => typeof n === 'number' && Number.isFinite(n)) ? (v as number[]) : this.fail(key, 'an array of finite numbers');
  }
}

function scheduleFrom(f: Fields): LrSchedule {
  return {
    baseLr: f.number('baseLr'),
    peakLr: f.number('peakLr'),
    warmupSteps: f.count('warmupSteps'),
    decay: f.oneOf('decay', LR_DECAYS),
    totalSteps: f.count('totalSteps', 1),
    stepEvery: f.count('stepEvery', 1),
    stepFactor: f.number('stepFactor'),
  };
}

function configFrom(f: Fields): RunConfig {
  return {
    seed: f.count('seed'),
    batchSize: f.count('batchSize', 1),
    shards: f.count('shards', 1),
    accumulate: f.count('accumulate', 1),
    clipNorm: f.number('clipNorm'),
    trainRows: f.count('trainRows', 1),
    testRows: f.count('testRows', 1),
    lrScaling: f.oneOf('lrScaling', LR_SCALINGS),
    baseBatchSize: f.count('baseBatchSize', 1),
    warmupEpochs: f.number('warmupEpochs'),
    lrStepEpochs: f.number('lrStepEpochs'),
    schedule: scheduleFrom(f.map('schedule')),
    ...(f.has('data') ? { data: dataFrom(f.map('data')) } : {}),
  };
}

function dataFrom(f: Fields): DataIdentity {
  return { name: f.string('name'), rowsSha256: f.string('rowsSha256') };
}

function breakdownFrom(f: Fields): StepBreakdown {
  const [step, compute, waitSlowest, reduceUpdate, coordination] = (['step', 'compute', 'waitSlowest', 'reduceUpdate', 'coordination'] as const).map((k) =>
    f.number(k),
  );
  return { step, compute, waitSlowest, reduceUpdate, coordination, workerRows: f.numbers('workerRows') };
}

function epochFrom(f: Fields): EpochRecord {
  const accuracy = f.optionalNumber('test_accuracy');
  return {
    epoch: f.count('epoch', 1),
    train_loss: f.number('train_loss'),
    test_loss: f.number('test_loss'),
    bce_floor: f.numberOrNull('bce_floor'),
    excess: f.numberOrNull('excess'),
    test_bce_floor: f.numberOrNull('test_bce_floor'),
    test_excess: f.numberOrNull('test_excess'),
    ...(accuracy === undefined ? {} : { test_accuracy: accuracy }),
    samples_per_sec: f.number('samples_per_sec'),
    worker_samples_per_sec: f.numbers('worker_samples_per_sec'),
    seconds: f.number('seconds'),
    elapsed_seconds: f.number('elapsed_seconds'),
    step: f.count('step'),
    lr: f.number('lr'),
    step_seconds: breakdownFrom(f.map('step_seconds')),
    engine: f.string('engine'),
    backend: f.string('backend'),
    workers: f.count('workers', 1),
    shards: f.count('shards', 1),
    batch_size: f.count('batch_size', 1),
    // Absent in one process and in records of corefit before per-rank throughput.
    ...(f.has('ranks') ? { ranks: f.maps('ranks').map(rankFrom) } : {}),
  };
}

function rankFrom(f: Fields): RankThroughput {
  return { worker_samples_per_sec: f.numbers('worker_samples_per_sec'), step_seconds: breakdownFrom(f.map('step_seconds')) };
}

/** Reads one epoch record (as history.json keeps them too); throws an Error naming the first field that is wrong. */
export function epochRecordFromJson(where: string, v: unknown): EpochRecord {
  return epochFrom(Fields.of(where, v));
}

function progressFrom(f: Fields): RunProgress {
  return {
    step: f.count('step'),
    epoch: f.count('epoch'),
    stepInEpoch: f.count('stepInEpoch'),
    epochLossSum: f.number('epochLossSum'),
    epochRows: f.count('epochRows'),
    epochSeconds: f.number('epochSeconds'),
    elapsedSeconds: f.number('elapsedSeconds'),
    history: f.array('history').map((e, i) => epochFrom(Fields.of(`progress.history[${i}]`, e))),
  };
}

function rngFrom(v: unknown): RngState {
  if (Array.isArray(v) && v.length === 4 && v.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
    return [v[0], v[1], v[2], v[3]];
  }
  throw new Error('the RNG state must be four 32-bit words');
}

/** Reads a run state written by runStateToJson; throws an Error naming the first field that is wrong. */
export function runStateFromJson(v: unknown): RunState {
  const f = Fields.of('run', v);
  const state: RunState = { config: configFrom(f.map('config')), progress: progressFrom(f.map('progress')), rng: rngFrom((v as Json).rng) };
  if (state.progress.history.length !== state.progress.epoch) {
    throw new Error(`run.progress.history holds ${state.progress.history.length} epochs, but ${state.progress.epoch} are complete`);
  }
  return state;
}
