/**
 * The pictures of what a model learned, written next to a checkpoint after every epoch
 * and by `corefit eval --images`, and shown by the dashboard: reconstructions.png (test digits above, their
 * reconstructions below), loss.png (train and test loss, and the BCE floor, per epoch)
 * and latent.png (the bottleneck codes of test digits, PCA to 2-d, one colour a label).
 * Reconstructions and latent codes exist only for an autoencoder; a picture that cannot
 * be drawn is skipped with the reason, never drawn wrong.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { renderLineChartPng, renderScatterChartPng, type LineSeries } from './chart.js';
import { digitGridPng, type DigitGridOptions } from './image-grid.js';
import { pca2 } from './pca.js';
import { OutputError } from '../errors.js';
import { errnoCode, writeProblem } from '../io-problem.js';
import { makeDirectory } from '../output-dir.js';
import { renameDurably, writeFileDurably } from '../checkpoint/durable-files.js';
import type { ModelSpec } from '../model/spec.js';
import type { SharedSplit } from '../parallel/buffers.js';

/** The first test images in reconstructions.png: two rows of ten. */
export const RECONSTRUCTED_IMAGES = 20;
/** Each image pixel becomes a square this wide, so that 28 × 28 digits read at a glance. */
export const DIGIT_SCALE = 3;
/** The floor line's colour in loss.png: a hue of its own, apart from the series and the grey axes. */
export const FLOOR_COLOR = '#76b7b2';
/** The grid of reconstructions.png, titled and with each block named. */
export const RECONSTRUCTION_GRID: DigitGridOptions = { scale: DIGIT_SCALE, labelled: true };
/** The first test rows in latent.png: enough for the clusters to show, few enough to stay legible and quick. */
export const LATENT_ROWS = 2000;

export const PICTURE_FILES = ['reconstructions.png', 'loss.png', 'latent.png'] as const;
export type PictureFile = (typeof PICTURE_FILES)[number];

/** The model's predictions for the first test rows that the pictures draw (see picturePredictions). */
export interface PicturePredictions {
  /** The outputs of the first `rows` test rows, row-major. */
  readonly reconstructions?: { readonly rows: number; readonly values: Float32Array };
  /** The activations of `layer` (the bottleneck) for the first `rows` test rows, row-major. */
  readonly latent?: { readonly rows: number; readonly layer: number; readonly values: Float32Array };
}

/** One completed epoch as loss.png draws it. */
export interface LossPoint {
  readonly epoch: number;
  readonly train_loss: number;
  readonly test_loss: number;
  readonly bce_floor: number | null;
}

export interface PictureInputs {
  readonly spec: ModelSpec;
  readonly test: SharedSplit;
  /** The completed epochs, oldest first. */
  readonly history: readonly LossPoint[];
  /** The shape of one image as the data files give it, e.g. [28, 28] (height, width). */
  readonly imageShape: readonly number[];
  /** What picturePredictions asked for, computed by the caller on the model's parameters. */
  readonly predictions: PicturePredictions;
}

/** The predictions the pictures of `spec` need: the test rows and the layer of each (undefined: the output layer). */
export function picturePredictions(
  spec: ModelSpec,
  testRows: number,
): { readonly reconstructions?: { rows: number }; readonly latent?: { rows: number; layer: number } } {
  if (notAutoencoder(spec) !== undefined) return {};
  const layer = bottleneck(spec);
  return {
    reconstructions: { rows: Math.min(RECONSTRUCTED_IMAGES, testRows) },
    ...(layer === undefined || spec.layers[layer].units < 2 ? {} : { latent: { rows: Math.min(LATENT_ROWS, testRows), layer } }),
  };
}

/** The narrowest hidden layer (the first, if several tie), or undefined when there is none. */
function bottleneck(spec: ModelSpec): number | undefined {
  const hidden = spec.layers.slice(0, -1);
  if (hidden.length === 0) return undefined;
  return hidden.reduce((best, l, i) => (l.units < hidden[best].units ? i : best), 0);
}

export interface PicturesWritten {
  readonly written: readonly string[];
  readonly skipped: ReadonlyArray<{ readonly file: PictureFile; readonly reason: string }>;
}

type Drawing = Buffer | { readonly skip: string };

/** Each picture as PNG bytes, or why it cannot be drawn. */
export type Pictures = Readonly<Record<PictureFile, Drawing>>;

/** Draws the pictures from the predictions the caller computed (eval/pictures.ts). */
export function drawTrainingPictures(inputs: PictureInputs): Pictures {
  return {
    'reconstructions.png': reconstructionsPng(inputs),
    'loss.png': lossPng(inputs.spec, inputs.history),
    'latent.png': latentPng(inputs),
  };
}

/** Writes each picture into `dir` (created if needed) under a temporary name, then renames it. */
export async function writeTrainingPictures(dir: string, drawings: Pictures): Promise<PicturesWritten> {
  const written: string[] = [];
  const skipped: Array<{ file: PictureFile; reason: string }> = [];
  try {
    await makeDirectory(dir);
    for (const file of PICTURE_FILES) {
      const drawing = drawings[file];
      const path = join(dir, file);
      if (!Buffer.isBuffer(drawing)) {
        // A picture of an earlier model in this folder would pass for one of this model.
        await rm(path, { force: true });
        skipped.push({ file, reason: drawing.skip });
        continue;
      }
      // A viewer or a crash never meets a half-written picture.
      await writeFileDurably(`${path}.tmp`, drawing);
      await renameDurably(dir, `${path}.tmp`, path);
      written.push(path);
    }
  } catch (error) {
    if (errnoCode(error) === undefined) throw error;
    throw new OutputError(
      `cannot write pictures into ${dir}: ${writeProblem(error)}`,
      'Free space or fix the permissions of that folder; a checkpoint written there is intact.',
      { cause: error },
    );
  }
  return { written, skipped };
}

function notAutoencoder(spec: ModelSpec): string | undefined {
  return spec.target === 'input' ? undefined : `the model predicts labels (${spec.loss}), it does not reconstruct its input`;
}

function reconstructionsPng({ spec, test, imageShape, predictions, history }: PictureInputs): Drawing {
  const why = notAutoencoder(spec);
  if (why !== undefined) return { skip: why };
  const [height, width] = imageShape;
  if (imageShape.length !== 2 || height * width !== test.features) {
    return { skip: `the data's rows are not images (shape ${imageShape.join('×')}, ${test.features} values), so there is nothing to draw them as` };
  }
  const predicted = predictions.reconstructions;
  if (predicted === undefined) throw new TypeError('drawTrainingPictures: the reconstructions that picturePredictions asks for are missing');
  const count = predicted.rows;
  const originals = test.x.subarray(0, count * test.features);
  const reconstructions = predicted.values;
  // Raw pixels (a model with normalize: false) are drawn on the same 0..1 grey scale as normalized ones.
  const top = originals.reduce((a, v) => Math.max(a, v), 1);
  const grey = (a: Float32Array): Float32Array => (top === 1 ? a : a.map((v) => v / top));
  const after = history.length === 0 ? 'untrained' : `after epoch ${history[history.length - 1].epoch}`;
  return digitGridPng(
    grey(originals),
    grey(reconstructions),
    count,
    { ...RECONSTRUCTION_GRID, width, height },
    {
      title: `Reconstructions of ${count} test images, ${after}`,
      original: 'test images (the input)',
      reconstruction: 'their reconstructions (the output), in the same places',
    },
  );
}

function lossPng(spec: ModelSpec, history: readonly LossPoint[]): Drawing {
  if (history.length === 0) return { skip: 'no epoch is complete yet' };
  const series: LineSeries[] = [
    { name: 'train loss', points: history.map((e) => [e.epoch, e.train_loss] as const) },
    { name: 'test loss', points: history.map((e) => [e.epoch, e.test_loss] as const) },
  ];
  const floor = history[history.length - 1].bce_floor;
  const levels = floor === null ? [] : [{ name: `BCE floor ${floor.toFixed(4)} (train targets)`, y: floor, color: FLOOR_COLOR }];
  return renderLineChartPng({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: `loss (${spec.loss})`, series, levels, xCategories: true });
}

function latentPng({ spec, test, predictions }: PictureInputs): Drawing {
  const why = notAutoencoder(spec);
  if (why !== undefined) return { skip: why };
  const layer = bottleneck(spec);
  if (layer === undefined) return { skip: 'the model has no hidden layer, so no bottleneck code' };
  const units = spec.layers[layer].units;
  if (units < 2) return { skip: `the bottleneck has ${units} unit, too few to project to 2-d` };
  const codes = predictions.latent;
  if (codes === undefined || codes.layer !== layer)
    throw new TypeError('drawTrainingPictures: the bottleneck codes that picturePredictions asks for are missing');
  const rows = codes.rows;
  const { projected } = pca2(codes.values, rows, units);
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
