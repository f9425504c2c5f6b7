/**
 * `evaluate()`: the test loss, BCE floor and excess of a checkpoint, computed on the
 * worker pool, and on request the pictures of what it learned.
 */
import { readCheckpoint } from '../checkpoint/checkpoint.js';
import { loadDataset } from '../data/dataset.js';
import { assertModelFits } from '../data/fit.js';
import { bceFloor } from '../data/floor.js';
import type { EngineChoice } from '../engine/engine.js';
import { paramLayout } from '../model/layout.js';
import { isClassLoss, type ModelSpec } from '../model/spec.js';
import { testAccuracy } from './accuracy.js';
import { assertFitsInMemory } from '../parallel/memory.js';
import { allocateBuffers, firstRows } from '../parallel/buffers.js';
import { defaultWorkerCount } from '../parallel/control.js';
import { EVAL_CHUNK, WorkerPool } from '../parallel/pool.js';
import { UsageError } from '../errors.js';
import { assertWritableDirectory } from '../output-dir.js';
import type { PicturesWritten } from '../report/training-pictures.js';
import { drawPictures } from './pictures.js';

export interface EvaluateOptions {
  readonly data?: string;
  readonly engine?: EngineChoice;
  readonly workers?: number;
  /** Evaluate only the first rows of the test split. */
  readonly testRows?: number;
  /** Write reconstructions.png, latent.png and loss.png (from the checkpoint's history) into this directory. */
  readonly images?: string;
}

export interface Evaluation {
  readonly spec: ModelSpec;
  readonly test_loss: number;
  readonly bce_floor: number | null;
  readonly excess: number | null;
  readonly test_accuracy?: number;
  readonly test_rows: number;
  readonly engine: string;
  readonly backend: string;
  /** The checkpoint's parameters. */
  readonly params: Float32Array;
  /** With the `images` option: the pictures written, and those skipped with the reason. */
  readonly images?: PicturesWritten;
}

export async function evaluate(checkpointDir: string, opts: EvaluateOptions = {}): Promise<Evaluation> {
  // Pictures that cannot be written are refused before the checkpoint, the data and the evaluation are spent on them.
  if (opts.images !== undefined) await assertWritableDirectory(opts.images, '--images');
  const checkpoint = await readCheckpoint(checkpointDir);
  const spec = checkpoint.spec;
  const data = await loadDataset({ dir: opts.data, normalize: spec.normalize });
  assertModelFits(spec, data);
  const rows = opts.testRows ?? data.test.rows;
  if (rows > data.test.rows) throw new UsageError(`--test-rows ${rows} exceeds the ${data.test.rows} test rows of the data`);
  const test = firstRows(data.test, rows);
  const workers = opts.workers ?? defaultWorkerCount();
  assertFitsInMemory(spec, { shards: workers, workers, maxRows: EVAL_CHUNK, rows });
  const buffers = allocateBuffers({ paramCount: paramLayout(spec).size, shards: workers, workers, train: test, test });
  buffers.params.set(checkpoint.params);
  const pool = new WorkerPool({ workers, buffers, setup: { spec, engine: opts.engine ?? 'auto', tfjsBackend: 'auto', maxRows: EVAL_CHUNK } });
  try {
    const info = await pool.info();
    const testLoss = (await pool.lossSum('test')) / rows;
    const floor = bceFloor(spec, test);
    const accuracy = isClassLoss(spec.loss) ? await testAccuracy(pool, spec, test) : undefined;
    let images: PicturesWritten | undefined;
    if (opts.images !== undefined) {
      const pictures = await drawPictures(pool, { spec, test, history: checkpoint.state.run.progress.history, imageShape: data.imageShape });
      const { writeTrainingPictures } = await import('../report/training-pictures.js');
      images = await writeTrainingPictures(opts.images, pictures);
    }
    return {
      spec,
      test_loss: testLoss,
      bce_floor: floor,
      excess: floor === null ? null : testLoss - floor,
      test_accuracy: accuracy,
      test_rows: rows,
      engine: info.engine,
      backend: info.backend,
      params: checkpoint.params,
      images,
    };
  } finally {
    await pool.close();
  }
}
