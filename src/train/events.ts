/** What a training run tells its caller as it goes; the CLI prints these, the dashboard draws them. */
import type { Machine } from '../bench/machine.js';
import type { LrSchedule } from '../optim/schedule.js';
import type { StepBreakdown } from '../parallel/pool.js';
import type { Pictures } from '../report/training-pictures.js';

export interface StartEvent {
  readonly type: 'start';
  readonly model: string;
  readonly engine: string;
  readonly backend: string;
  readonly note?: string;
  readonly workers: number;
  readonly shards: number;
  readonly batch_size: number;
  readonly accumulate: number;
  readonly epochs: number;
  readonly steps_per_epoch: number;
  readonly train_rows: number;
  readonly test_rows: number;
  readonly data: string;
  readonly bce_floor: number | null;
  /** The learning rate of every step, after scaling (see learningRateAt). */
  readonly lr_schedule: LrSchedule;
  readonly resumed_from?: string;
  readonly machine: Machine;
}

export interface ProgressEvent {
  readonly type: 'progress';
  readonly epoch: number;
  readonly step: number;
  readonly steps: number;
  /** Mean loss over the steps of this epoch so far. */
  readonly loss: number;
  /** loss − BCE floor of the training targets; null for other losses. */
  readonly excess: number | null;
  readonly samples_per_sec: number;
  readonly eta_seconds: number;
}

export interface EpochEvent {
  readonly type: 'epoch';
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
}

export interface CheckpointEvent {
  readonly type: 'checkpoint';
  readonly dir: string;
  readonly epoch: number;
  readonly step: number;
}

/** The pictures of an epoch, drawn when the run writes them (`out`) or is asked to (`pictures`). */
export interface PicturesEvent {
  readonly type: 'pictures';
  readonly epoch: number;
  readonly pictures: Pictures;
}

export type TrainEvent = StartEvent | ProgressEvent | EpochEvent | CheckpointEvent | PicturesEvent;
