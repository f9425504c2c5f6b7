/**
 * Everything a training run needs before its first step: the options checked, the
 * checkpoint resumed (or the weights initialised), the data loaded and the shared
 * buffers filled.
 */
import { assertSameArchitecture, readCheckpoint } from '../checkpoint/checkpoint.js';
import type { DataIdentity, RunConfig, RunState } from '../checkpoint/run-state.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { assertModelFits } from '../data/fit.js';
import { glorotUniformInit } from '../model/init.js';
import { paramLayout } from '../model/layout.js';
import { DEFAULT_SPEC, type ModelSpec } from '../model/spec.js';
import { allocateBuffers, firstRows, type SharedBuffers } from '../parallel/buffers.js';
import { assertFitsInMemory } from '../parallel/memory.js';
import { engineRows } from '../parallel/pool.js';
import { UsageError } from '../errors.js';
import { Rng } from '../rng.js';
import { dataIdentity, describeData } from './data-identity.js';
import {
  checkOut,
  checkResumeOptions,
  checkTrainOptions,
  givenDataset,
  newRunConfig,
  resolveEpochs,
  resolveWorkers,
  resumesIntoOut,
  type TrainOptions,
} from './options.js';

export interface RunSetup {
  readonly spec: ModelSpec;
  readonly data: Dataset;
  /** Where the run starts: step 0, or the checkpoint's state; its config names the rows this run uses. */
  readonly state: RunState & { readonly config: RunConfig & { readonly data: DataIdentity } };
  readonly buffers: SharedBuffers;
  readonly workers: number;
  /** Rows of the largest engine call: a shard of a batch, or a chunk of the evaluation. */
  readonly maxRows: number;
  /** Train until this many epochs are complete. */
  readonly epochs: number;
  /** Steps between mid-epoch checkpoints, or undefined when there are none. */
  readonly checkpointEvery: number | undefined;
  readonly resumedFrom?: string;
}

export async function setUpRun(opts: TrainOptions): Promise<RunSetup> {
  checkTrainOptions(opts);
  // Across MPI ranks, rank 0 writes for all.
  const lead = (opts.comm?.rank ?? 0) === 0;
  if (lead) await checkOut(opts);
  // A run resuming into its own --out is that directory's one writer: it settles what an
  // interrupted write left there, even when nothing is left to train and nothing is written.
  const resumed = opts.resume === undefined ? undefined : await readCheckpoint(opts.resume, { settle: resumesIntoOut(opts) && lead });
  if (resumed !== undefined && opts.spec !== undefined) assertSameArchitecture(resumed.spec, opts.spec, opts.resume!);
  const spec = resumed?.spec ?? opts.spec ?? DEFAULT_SPEC;
  const workers = resolveWorkers(opts);
  const epochs = resolveEpochs(opts);
  const data = givenDataset(opts, spec) ?? (await loadDataset({ dir: opts.data, normalize: spec.normalize }));
  assertModelFits(spec, data);

  const layout = paramLayout(spec);
  if (resumed !== undefined) checkResumeOptions(opts, resumed.state.run.config);
  const config = resumed?.state.run.config ?? newRunConfig(opts, spec, data.train.rows, data.test.rows);
  const maxRows = engineRows(config.batchSize, config.shards);
  // An MPI rank holds the slots of its own shards only.
  const localShards = config.shards / (opts.comm?.ranks ?? 1);
  assertFitsInMemory(spec, { shards: localShards, workers, maxRows, rows: Math.max(config.trainRows, config.testRows) });
  const buffers = allocateBuffers({
    paramCount: layout.size,
    shards: config.shards,
    localShards,
    workers,
    train: firstRows(data.train, config.trainRows),
    test: firstRows(data.test, config.testRows),
  });
  const rows = dataIdentity(data.name, buffers.train, buffers.test);
  const common = { spec, data, buffers, workers, maxRows, epochs, checkpointEvery: opts.checkpointEvery };
  if (resumed !== undefined) {
    const trainedOn = resumed.state.run.config.data;
    if (trainedOn !== undefined && trainedOn.rowsSha256 !== rows.rowsSha256) {
      throw new UsageError(
        `${opts.resume} was trained on ${describeData(trainedOn)}, but these rows are ${describeData(rows)}`,
        `Resume with --data and the folder the run was trained on${trainedOn.name === 'mnist' ? ' (mnist: no --data)' : ''}; a checkpoint does not keep the data files.`,
      );
    }
    buffers.params.set(resumed.params);
    buffers.m.set(resumed.state.m);
    buffers.v.set(resumed.state.v);
    const run = resumed.state.run;
    return { ...common, state: { ...run, config: { ...run.config, data: rows } }, resumedFrom: opts.resume };
  }
  const rng = Rng.fromSeed(config.seed);
  glorotUniformInit(layout, buffers.params, rng);
  const progress = { step: 0, epoch: 0, stepInEpoch: 0, epochLossSum: 0, epochRows: 0, epochSeconds: 0, elapsedSeconds: 0, history: [] };
  return { ...common, state: { config: { ...config, data: rows }, progress, rng: rng.state() } };
}
