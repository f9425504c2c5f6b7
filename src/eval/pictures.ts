/**
 * The pictures of what a model learned (report/training-pictures.ts), drawn from the
 * predictions of the model on the pool: the one way both `train --out` and
 * `eval --images` write them.
 */
import type { ModelSpec } from '../model/spec.js';
import type { SharedSplit } from '../parallel/buffers.js';
import type { WorkerPool } from '../parallel/pool.js';
import type { LossPoint, PicturePredictions, PicturesWritten } from '../report/training-pictures.js';

export interface PictureSource {
  readonly spec: ModelSpec;
  /** The pool's test split. */
  readonly test: SharedSplit;
  readonly history: readonly LossPoint[];
  readonly imageShape: readonly number[];
}

/** Predicts what the pictures draw on `pool` (whose parameters are the model's) and writes them into `dir`. */
export async function writePictures(dir: string, pool: WorkerPool, source: PictureSource): Promise<PicturesWritten> {
  // Loaded only when pictures are asked for: the chart renderer takes about a second to load.
  const { picturePredictions, writeTrainingPictures } = await import('../report/training-pictures.js');
  const wanted = picturePredictions(source.spec, source.test.rows);
  const predictions: PicturePredictions = {
    ...(wanted.reconstructions === undefined
      ? {}
      : { reconstructions: { rows: wanted.reconstructions.rows, values: await pool.predict('test', wanted.reconstructions.rows) } }),
    ...(wanted.latent === undefined
      ? {}
      : { latent: { ...wanted.latent, values: await pool.predict('test', wanted.latent.rows, wanted.latent.layer) } }),
  };
  return writeTrainingPictures(dir, { ...source, predictions });
}
