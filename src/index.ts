/** corefit's library API. */
export { train } from './train/train.js';
export type { TrainResult, TrainingProgress } from './train/train.js';
export type { TrainOptions, RunConfig } from './train/options.js';
export type { TrainEvent, StartEvent, ProgressEvent, EpochEvent, CheckpointEvent } from './train/events.js';
export { evaluate } from './eval/evaluate.js';
export type { EvaluateOptions, Evaluation } from './eval/evaluate.js';
export { readCheckpoint as loadCheckpoint, writeCheckpoint } from './checkpoint/checkpoint.js';
export type { Checkpoint, ReadOptions as LoadCheckpointOptions, TrainingState, RunState, RunProgress, EpochRecord } from './checkpoint/checkpoint.js';
export { DEFAULT_SPEC, parseSpec, parseKerasModelJson } from './model/spec.js';
export type { ModelSpec, DenseLayer, Activation, LossName, AdamConfig } from './model/spec.js';
export { readSpecFile } from './model/spec-file.js';
export { paramLayout } from './model/layout.js';
export { loadDataset } from './data/dataset.js';
export type { Dataset, Split } from './data/dataset.js';
export { lintSpec } from './lint/rules.js';
export type { Finding } from './lint/findings.js';
export * from './errors.js';
