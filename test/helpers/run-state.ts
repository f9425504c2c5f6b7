/** A valid run state for checkpoint tests, varied by `seed`: the config of a run, one epoch done, a few steps into the next. */
import type { RunState } from '../../src/checkpoint/run-state.js';
import { DEFAULT_SPEC } from '../../src/model/spec.js';
import { Rng } from '../../src/rng.js';
import { newRunConfig } from '../../src/train/options.js';

export function sampleRunState(seed: number): RunState {
  const config = newRunConfig({ seed, workers: 2, trainRows: 2000, testRows: 500 }, DEFAULT_SPEC, 60000, 10000);
  const epoch = {
    epoch: 1,
    train_loss: 0.2,
    test_loss: 0.19,
    bce_floor: 0.0584,
    excess: 0.1416,
    test_bce_floor: 0.0581,
    test_excess: 0.1319,
    samples_per_sec: 50000,
    worker_samples_per_sec: [25100, 24900],
    seconds: 1.5,
    elapsed_seconds: 1.5,
    step: 20,
    lr: 0.001,
    step_seconds: { step: 0.001, compute: 0.0008, waitSlowest: 0.0001, reduceUpdate: 0.0001, coordination: 0, workerRows: [50, 50] },
    engine: 'native',
    backend: 'openblas',
    workers: 2,
    shards: 2,
    batch_size: 100,
  };
  return {
    config,
    progress: {
      step: 100 * seed,
      epoch: 1,
      stepInEpoch: seed,
      epochLossSum: 12.5,
      epochRows: 100 * seed,
      epochSeconds: 0.25,
      elapsedSeconds: 1.75,
      history: [epoch],
    },
    rng: Rng.fromSeed(seed).state(),
  };
}
