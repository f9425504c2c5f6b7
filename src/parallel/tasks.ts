/**
 * The control-plane messages between the coordinator and the workers. They carry
 * sizes, step ranges and references to the shared buffers, never tensors.
 */
import type { EngineChoice, EngineName, TfjsBackendChoice } from '../engine/engine.js';
import type { ModelSpec } from '../model/spec.js';
import type { LrSchedule } from '../optim/schedule.js';
import type { SharedBuffers } from './buffers.js';

/** What every task needs to find (or build once) its thread's engine. */
export interface EngineSetup {
  /** Changes with every training session, so a thread rebuilds its engine only then. */
  readonly sessionId: string;
  readonly spec: ModelSpec;
  readonly engine: EngineChoice;
  readonly tfjsBackend: TfjsBackendChoice;
  readonly maxRows: number;
}

/**
 * For tests only (see fault.ts): make one worker fail at the start of one step, or kill
 * the whole process (kill -9) there, or after `operations` file operations of the
 * checkpoint written at step `step`.
 */
export type InjectedFault =
  | {
      /** Throw an error, exit the thread, run out of heap, poison a weight with NaN, kill the process, or hang (never finish the step). */
      readonly kind: 'throw' | 'exit' | 'oom' | 'nan' | 'kill' | 'hang';
      readonly rank: number;
      readonly step: number;
    }
  | { readonly kind: 'kill-in-write'; readonly step: number; readonly operations: number };

export interface StepPlan {
  readonly workers: number;
  /** Shards of the global batch, over all processes. */
  readonly shards: number;
  /**
   * This process's shards: firstShard … firstShard + localShards − 1, one gradient slot
   * each. All of them (0 and shards) in one process; a contiguous run per MPI rank.
   */
  readonly firstShard: number;
  readonly localShards: number;
  /**
   * Whether a communication thread (parallel/mpi/) joins the workers' barriers and runs
   * the step's collective across processes, instead of the workers over shared memory.
   */
  readonly commThread: boolean;
  /** Rows of one micro-batch (before sharding). */
  readonly batchSize: number;
  /** Micro-batches summed into one update. */
  readonly accumulate: number;
  readonly schedule: LrSchedule;
  /** Global-norm clipping threshold; 0 when off. */
  readonly clipNorm: number;
}

export interface RunTask {
  readonly kind: 'run';
  readonly setup: EngineSetup;
  readonly buffers: SharedBuffers;
  readonly plan: StepPlan;
  readonly rank: number;
  /** Steps completed before this run (the global step count), so step t = stepsBefore + 1, … */
  readonly stepsBefore: number;
  /** The run covers steps [stepBegin, stepEnd) of the current epoch. */
  readonly stepBegin: number;
  readonly stepEnd: number;
  readonly fault?: InjectedFault;
}

export interface LossTask {
  readonly kind: 'loss';
  readonly setup: EngineSetup;
  readonly buffers: SharedBuffers;
  readonly split: 'train' | 'test';
  /** Rows [begin, end) of the split. */
  readonly begin: number;
  readonly end: number;
}

export interface PredictTask {
  readonly kind: 'predict';
  readonly setup: EngineSetup;
  readonly buffers: SharedBuffers;
  readonly split: 'train' | 'test';
  readonly begin: number;
  readonly end: number;
  /** Layer whose activations to return; the last layer for outputs. */
  readonly layer: number;
  /** [end − begin, units of that layer], shared. */
  readonly out: Float32Array;
}

export interface InfoTask {
  readonly kind: 'info';
  readonly setup: EngineSetup;
}

export type WorkerTask = RunTask | LossTask | PredictTask | InfoTask;

export interface EngineInfo {
  readonly engine: EngineName;
  readonly backend: string;
  readonly note?: string;
}

export interface RunResult {
  readonly rank: number;
  readonly steps: number;
}
