/**
 * Time-to-quality, the figure MLPerf and the large-batch literature use: how long a
 * batch size takes to reach a target test loss. A bigger batch pays only if it
 * reaches the target sooner, not merely if it runs more samples per second.
 */
import type { Dataset } from '../data/dataset.js';
import type { EngineChoice } from '../engine/engine.js';
import type { ModelSpec } from '../model/spec.js';
import { train } from '../train/train.js';

export interface QualityPoint {
  readonly epoch: number;
  readonly seconds: number;
  readonly testLoss: number;
}

export interface TimeToQuality {
  readonly batchSize: number;
  readonly workers: number;
  readonly target: number;
  readonly reached: boolean;
  /** Epochs and wall seconds until the target was reached (or until the cap). */
  readonly epochs: number;
  readonly seconds: number;
  readonly curve: readonly QualityPoint[];
  /** The BCE floor of the test targets (null for other losses): the target must lie above it. */
  readonly testFloor: number | null;
}

export interface TimeToQualityOptions {
  readonly spec: ModelSpec;
  /** Loaded once by the bench for all its runs (with the spec's normalize). */
  readonly dataset: Dataset;
  readonly engine: EngineChoice;
  readonly batchSize: number;
  readonly workers: number;
  readonly target: number;
  readonly maxEpochs: number;
  readonly trainRows?: number;
  readonly onEpoch?: (p: QualityPoint) => void;
}

export async function timeToQuality(o: TimeToQualityOptions): Promise<TimeToQuality> {
  const curve: QualityPoint[] = [];
  let testFloor: number | null = null;
  const result = await train({
    spec: o.spec,
    dataset: o.dataset,
    engine: o.engine,
    batchSize: o.batchSize,
    workers: o.workers,
    epochs: o.maxEpochs,
    trainRows: o.trainRows,
    untilTestLoss: o.target,
    onEvent: (e) => {
      if (e.type !== 'epoch') return;
      testFloor = e.test_bce_floor;
      const point = { epoch: e.epoch, seconds: e.elapsed_seconds, testLoss: e.test_loss };
      curve.push(point);
      o.onEpoch?.(point);
    },
  });
  const last = curve[curve.length - 1];
  return {
    batchSize: o.batchSize,
    workers: o.workers,
    target: o.target,
    reached: last.testLoss <= o.target,
    epochs: result.progress.epoch,
    seconds: last.seconds,
    curve,
    testFloor,
  };
}
