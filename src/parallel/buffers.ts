/**
 * Every buffer a training run shares between threads. All live on SharedArrayBuffers
 * and are passed to workers once per run as references; per step, workers read and
 * write them in place.
 */
import { CONTROL_INTS } from './control.js';

/** One split of the data as the workers see it: scaled features and labels, shared. */
export interface SharedSplit {
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly features: number;
}

/** The first `rows` rows of a split, as views on the same shared memory. */
export function firstRows(split: SharedSplit, rows: number): SharedSplit {
  return { x: split.x.subarray(0, rows * split.features), labels: split.labels.subarray(0, rows), rows, features: split.features };
}

/** The words of `progress`, named as CONTROL names its words. */
export const PROGRESS = {
  /** Σ loss of the steps completed in the current run. */
  LOSS_SUM: 0,
  /** Σ rows of those steps. */
  ROWS: 1,
} as const;

export const PROGRESS_FIELDS = 2;

/** The words of each worker's row of `timing`, summed over the steps of the current run. */
export const TIMING = {
  /** Seconds of forward and backward of the worker's shards. */
  COMPUTE: 0,
  /** Seconds waiting at the barrier for the slowest shard. */
  WAIT_SLOWEST: 1,
  /** Seconds of the collective step: reduce, clipping and Adam on the worker's blocks. */
  REDUCE_UPDATE: 2,
  /** Rows the worker computed (its shards' rows): its share of the run's throughput. */
  ROWS: 3,
} as const;

export const TIMING_FIELDS = 4;

export interface SharedBuffers {
  /** The flat parameters [P] in tfjs weight order. */
  readonly params: Float32Array;
  /** Adam's first and second moments [P]. */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** One gradient slot per shard of this process [localShards, P]; the update reads them, summed in the pairwise tree (optim/reduce.ts). */
  readonly slots: Float32Array;
  /** Σ loss of each shard (of all processes) in the current step [S]. */
  readonly shardLoss: Float64Array;
  /** Σ of squared mean gradients of each reduction block in the current step [S], when clipping. */
  readonly blockSumSq: Float64Array;
  /** The epoch's permutation of training rows [N]. */
  readonly order: Int32Array;
  /** 0, 1, …, rows−1 of the evaluation split, so evaluation reads rows like training does. */
  readonly identity: Int32Array;
  readonly control: Int32Array;
  /** [PROGRESS_FIELDS]: see PROGRESS. */
  readonly progress: Float64Array;
  /** [workers, TIMING_FIELDS]: see TIMING. */
  readonly timing: Float64Array;
  readonly train: SharedSplit;
  readonly test: SharedSplit;
}

function shared<T>(ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  return new ctor(new SharedArrayBuffer(length * ctor.BYTES_PER_ELEMENT));
}

export function allocateBuffers(opts: {
  paramCount: number;
  shards: number;
  /** Shards this process computes (default: all). */
  localShards?: number;
  workers: number;
  train: SharedSplit;
  test: SharedSplit;
}): SharedBuffers {
  const { paramCount, shards, workers, train, test } = opts;
  const localShards = opts.localShards ?? shards;
  const identity = shared(Int32Array, Math.max(train.rows, test.rows));
  for (let i = 0; i < identity.length; i++) identity[i] = i;
  return {
    params: shared(Float32Array, paramCount),
    m: shared(Float32Array, paramCount),
    v: shared(Float32Array, paramCount),
    slots: shared(Float32Array, localShards * paramCount),
    shardLoss: shared(Float64Array, shards),
    blockSumSq: shared(Float64Array, shards),
    order: shared(Int32Array, train.rows),
    identity,
    control: shared(Int32Array, CONTROL_INTS),
    progress: shared(Float64Array, PROGRESS_FIELDS),
    timing: shared(Float64Array, workers * TIMING_FIELDS),
    train,
    test,
  };
}
