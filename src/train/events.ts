/** What a training run tells its caller as it goes; the CLI prints these, the dashboard draws them. */
import type { Machine } from '../machine.js';
import type { LrSchedule } from '../optim/schedule.js';
import type { EpochRecord } from '../checkpoint/run-state.js';
import type { Pictures } from '../report/training-pictures.js';

export interface StartEvent {
  readonly type: 'start';
  readonly model: string;
  readonly engine: string;
  readonly backend: string;
  readonly note?: string;
  /** MPI ranks (processes) of the job; 1 in one process. */
  readonly ranks: number;
  /** Under MPI: each rank's host name, in rank order. */
  readonly hosts?: readonly string[];
  /** Worker threads per rank. */
  readonly workers: number;
  readonly shards: number;
  readonly batch_size: number;
  readonly accumulate: number;
  readonly epochs: number;
  readonly steps_per_epoch: number;
  readonly train_rows: number;
  readonly test_rows: number;
  readonly data: string;
  /** The BCE floor of the training targets, which train excess is measured from; null for other losses. */
  readonly bce_floor: number | null;
  /** The BCE floor of the test targets, which test excess is measured from. */
  readonly test_bce_floor: number | null;
  /** What the user should know before the run goes on, e.g. that nothing will be saved. */
  readonly warnings: readonly string[];
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

/** A completed epoch; the run keeps these as its history (checkpoint/run-state.ts). */
export interface EpochEvent extends EpochRecord {
  readonly type: 'epoch';
  /**
   * Across MPI ranks, rank 0's part of a step: seconds summing its own shards, exchanging
   * with the other ranks (waits for them included) and updating its blocks, and the bytes it sent.
   */
  readonly exchange?: { local_reduce: number; exchange: number; update: number; bytes_sent_per_step: number };
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
