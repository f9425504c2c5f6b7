/**
 * The pictures of what a model learned (report/training-pictures.ts), drawn from the
 * predictions of the model on the pool: the one way `train --out`, `train --dashboard`
 * and `eval --images` get them. Writing them is report/training-pictures.ts's
 * `writeTrainingPictures`.
 */
import type { ModelSpec } from '../model/spec.js';
import type { SharedSplit } from '../parallel/buffers.js';
import type { WorkerPool } from '../parallel/pool.js';
import type { LossPoint, PicturePredictions, Pictures } from '../report/training-pictures.js';

export interface PictureSource {
  readonly spec: ModelSpec;
  /** The pool's test split. */
  readonly test: SharedSplit;
  readonly history: readonly LossPoint[];
  readonly imageShape: readonly number[];
}

/** Predicts what the pictures draw on `pool` (whose parameters are the model's) and draws them. */
export async function drawPictures(pool: WorkerPool, source: PictureSource): Promise<Pictures> {
  // Loaded only when pictures are asked for: the chart renderer takes about a second to load.
  const { picturePredictions, drawTrainingPictures } = await import('../report/training-pictures.js');
  const wanted = picturePredictions(source.spec, source.test.rows);
  const predictions: PicturePredictions = {
    ...(wanted.reconstructions === undefined
      ? {}
      : { reconstructions: { rows: wanted.reconstructions.rows, values: await pool.predict('test', wanted.reconstructions.rows) } }),
    ...(wanted.latent === undefined ? {} : { latent: { ...wanted.latent, values: await pool.predict('test', wanted.latent.rows, wanted.latent.layer) } }),
  };
  return drawTrainingPictures({ ...source, predictions });
}
