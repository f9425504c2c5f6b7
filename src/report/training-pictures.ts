/**
 * The pictures of what a model learned, written next to a checkpoint after every epoch
 * and by `corefit eval --images`: reconstructions.png (test digits above, their
 * reconstructions below), loss.png (train and test loss, and the BCE floor, per epoch)
 * and latent.png (the bottleneck codes of test digits, PCA to 2-d, one colour a label).
 * Reconstructions and latent codes exist only for an autoencoder; a picture that cannot
 * be drawn is skipped with the reason, never drawn wrong.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { renderLineChartPng, renderScatterChartPng, type LineSeries } from './chart.js';
import { digitGridPng } from './image-grid.js';
import { pca2 } from './pca.js';
import { UsageError } from '../errors.js';
import { renameDurably, writeFileDurably } from '../checkpoint/durable-files.js';
import type { ModelSpec } from '../model/spec.js';
import type { SharedSplit } from '../parallel/buffers.js';
import type { WorkerPool } from '../parallel/pool.js';
import type { EpochEvent } from '../train/events.js';

/** The first test images in reconstructions.png: two rows of ten. */
export const RECONSTRUCTED_IMAGES = 20;
/** Each image pixel becomes a square this wide, so that 28 × 28 digits read at a glance. */
export const DIGIT_SCALE = 3;
/** The first test rows in latent.png: enough for the clusters to show, few enough to stay legible and quick. */
export const LATENT_ROWS = 2000;

export const PICTURE_FILES = ['reconstructions.png', 'loss.png', 'latent.png'] as const;
export type PictureFile = (typeof PICTURE_FILES)[number];

export interface PictureInputs {
  /** A pool whose parameters are the model's; its test split is `test`. */
  readonly pool: WorkerPool;
  readonly spec: ModelSpec;
  readonly test: SharedSplit;
  /** The completed epochs, oldest first. */
  readonly history: readonly EpochEvent[];
  /** The shape of one image as the data files give it, e.g. [28, 28] (height, width). */
  readonly imageShape: readonly number[];
}

export interface PicturesWritten {
  readonly written: readonly string[];
  readonly skipped: ReadonlyArray<{ readonly file: PictureFile; readonly reason: string }>;
}

type Drawing = Buffer | { readonly skip: string };

/** Each picture as PNG bytes, or why it cannot be drawn. */
export type Pictures = Readonly<Record<PictureFile, Drawing>>;

export async function drawTrainingPictures(inputs: PictureInputs): Promise<Pictures> {
  return {
    'reconstructions.png': await reconstructionsPng(inputs),
    'loss.png': lossPng(inputs.spec, inputs.history),
    'latent.png': await latentPng(inputs),
  };
}

/** Draws the pictures and writes them into `dir`. */
export async function writeTrainingPictures(dir: string, inputs: PictureInputs): Promise<PicturesWritten> {
  return writePictures(dir, await drawTrainingPictures(inputs));
}

/** Writes each picture into `dir` (created if needed) under a temporary name, then renames it. */
export async function writePictures(dir: string, drawings: Pictures): Promise<PicturesWritten> {
  const written: string[] = [];
  const skipped: Array<{ file: PictureFile; reason: string }> = [];
  try {
    await mkdir(dir, { recursive: true });
    for (const file of PICTURE_FILES) {
      const drawing = drawings[file];
      if (!Buffer.isBuffer(drawing)) {
        skipped.push({ file, reason: drawing.skip });
        continue;
      }
      const path = join(dir, file);
      // A viewer or a crash never meets a half-written picture.
      await writeFileDurably(`${path}.tmp`, drawing);
      await renameDurably(dir, `${path}.tmp`, path);
      written.push(path);
    }
  } catch (error) {
    throw new UsageError(`cannot write pictures into ${dir}: ${(error as Error).message}`, 'Give a directory that can be created and written to.');
  }
  return { written, skipped };
}

function notAutoencoder(spec: ModelSpec): string | undefined {
  return spec.target === 'input' ? undefined : `the model predicts labels (${spec.loss}), it does not reconstruct its input`;
}

async function reconstructionsPng({ pool, spec, test, imageShape }: PictureInputs): Promise<Drawing> {
  const why = notAutoencoder(spec);
  if (why !== undefined) return { skip: why };
  const [height, width] = imageShape;
  if (imageShape.length !== 2 || height * width !== test.features) {
    return { skip: `the data's rows are not images (shape ${imageShape.join('×')}, ${test.features} values), so there is nothing to draw them as` };
  }
  const count = Math.min(RECONSTRUCTED_IMAGES, test.rows);
  const originals = test.x.subarray(0, count * test.features);
  const reconstructions = await pool.predict('test', count);
  // Raw pixels (a model with normalize: false) are drawn on the same 0..1 grey scale as normalized ones.
  const top = originals.reduce((a, v) => Math.max(a, v), 1);
  const grey = (a: Float32Array): Float32Array => (top === 1 ? a : a.map((v) => v / top));
  return digitGridPng(grey(originals), grey(reconstructions), count, { width, height, scale: DIGIT_SCALE });
}

function lossPng(spec: ModelSpec, history: readonly EpochEvent[]): Drawing {
  if (history.length === 0) return { skip: 'no epoch is complete yet' };
  const series: LineSeries[] = [
    { name: 'train loss', points: history.map((e) => [e.epoch, e.train_loss] as const) },
    { name: 'test loss', points: history.map((e) => [e.epoch, e.test_loss] as const) },
  ];
  const floor = history[history.length - 1].bce_floor;
  if (floor !== null) {
    series.push({ name: `BCE floor ${floor.toFixed(4)}`, points: history.map((e) => [e.epoch, floor] as const), dashed: true, color: '#555555' });
  }
  return renderLineChartPng({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: `loss (${spec.loss})`, series, integerX: true });
}

async function latentPng({ pool, spec, test }: PictureInputs): Promise<Drawing> {
  const why = notAutoencoder(spec);
  if (why !== undefined) return { skip: why };
  const hidden = spec.layers.slice(0, -1);
  if (hidden.length === 0) return { skip: 'the model has no hidden layer, so no bottleneck code' };
  // The bottleneck: the narrowest hidden layer (the first, if several tie).
  const layer = hidden.reduce((best, l, i) => (l.units < hidden[best].units ? i : best), 0);
  const units = hidden[layer].units;
  if (units < 2) return { skip: `the bottleneck has ${units} unit, too few to project to 2-d` };
  const rows = Math.min(LATENT_ROWS, test.rows);
  const { projected } = pca2(await pool.predict('test', rows, layer), rows, units);
  const labels = test.labels.subarray(0, rows);
  const classes = labels.reduce((a, b) => Math.max(a, b), 0) + 1;
  return renderScatterChartPng({
    title: `Bottleneck codes of ${rows} test images (${units}-d, PCA to 2-d)`,
    xLabel: 'principal component 1',
    yLabel: 'principal component 2',
    x: projected.filter((_, i) => i % 2 === 0),
    y: projected.filter((_, i) => i % 2 === 1),
    category: labels,
    categoryNames: Array.from({ length: classes }, (_, c) => String(c)),
    height: 600,
  });
}
