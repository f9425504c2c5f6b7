/**
 * The pictures of issue 7: `train --out` writes them after every epoch, `eval --images`
 * writes them from a checkpoint. The reconstruction grid is read back pixel by pixel:
 * its top block must be the test images, its bottom block the model's outputs for them.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type Dataset } from '../src/data/dataset.js';
import { createEngine } from '../src/engine/select.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { readSpecFile } from '../src/model/spec-file.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { allocateBuffers } from '../src/parallel/buffers.js';
import { EVAL_CHUNK, WorkerPool } from '../src/parallel/pool.js';
import { CATEGORY_COLORS } from '../src/report/chart.js';
import { digitGridLayout, LABEL_BAND, TITLE_BAND, type DigitGridLayout } from '../src/report/image-grid.js';
import { drawPictures } from '../src/eval/pictures.js';
import { FLOOR_COLOR, PICTURE_FILES, RECONSTRUCTED_IMAGES, RECONSTRUCTION_GRID, writeTrainingPictures } from '../src/report/training-pictures.js';
import { Rng } from '../src/rng.js';
import { train, type TrainResult } from '../src/train/train.js';
import { lineRow } from './helpers/chart-pixels.js';
import { jsonLines, runCli } from './helpers/cli.js';

const PIXELS = 28 * 28;

async function decode(path: string): Promise<PNG> {
  return PNG.sync.read(await readFile(path));
}

/** Tile `index` of a block as values in [0, 1], read at the top-left corner of each scale × scale square. */
function tile(img: PNG, layout: DigitGridLayout, index: number, block: 'original' | 'reconstruction'): Float32Array {
  const at = layout.tileOrigin(index, block);
  const out = new Float32Array(PIXELS);
  for (let py = 0; py < 28; py++) {
    for (let px = 0; px < 28; px++) {
      out[py * 28 + px] = img.data[4 * ((at.y + py * layout.scale) * img.width + at.x + px * layout.scale)] / 255;
    }
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Pixels of columns [x0, x1) within 12 levels of a #rrggbb colour drawn at `opacity` over white. */
function pixelsOf(img: PNG, hex: string, x0 = 0, x1 = img.width, opacity = 1): number {
  const rgb = [1, 3, 5].map((k) => opacity * parseInt(hex.slice(k, k + 2), 16) + (1 - opacity) * 255);
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = x0; x < x1; x++) {
      const i = 4 * (y * img.width + x);
      if (rgb.every((v, c) => Math.abs(img.data[i + c] - v) <= 12)) n++;
    }
  }
  return n;
}

const testImage = (data: Dataset, i: number): Float32Array => data.test.x.subarray(i * PIXELS, (i + 1) * PIXELS);

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corefit-pictures-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pictures of a training run', () => {
  let out: string;
  let data: Dataset;
  let result: TrainResult;

  beforeAll(async () => {
    out = join(dir, 'run');
    data = await loadDataset({ normalize: true });
    // Batches of 10: 600 updates in about two seconds, enough for digits to take shape.
    result = await train({ dataset: data, epochs: 2, trainRows: 3000, testRows: 1000, batchSize: 10, workers: 2, out });
  });

  it('writes the three pictures next to the checkpoint, and no temporary file', async () => {
    const files = await readdir(out);
    for (const f of PICTURE_FILES) expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('puts the first test images above and the model’s reconstructions of them below', async () => {
    const img = await decode(join(out, 'reconstructions.png'));
    const layout = digitGridLayout(RECONSTRUCTED_IMAGES, RECONSTRUCTION_GRID);
    expect([img.width, img.height]).toEqual([layout.imageWidth, layout.imageHeight]);

    const engine = await createEngine('auto', result.spec, RECONSTRUCTED_IMAGES);
    const outputs = new Float32Array(RECONSTRUCTED_IMAGES * PIXELS);
    engine.predict(
      result.params,
      data.test,
      Int32Array.from({ length: RECONSTRUCTED_IMAGES }, (_, i) => i),
      outputs,
    );
    engine.dispose();

    for (let i = 0; i < RECONSTRUCTED_IMAGES; i++) {
      // 8-bit grey levels: at most half a level of rounding, plus float noise.
      expect(maxAbsDiff(tile(img, layout, i, 'original'), testImage(data, i))).toBeLessThanOrEqual(0.6 / 255);
      expect(maxAbsDiff(tile(img, layout, i, 'reconstruction'), outputs.subarray(i * PIXELS, (i + 1) * PIXELS))).toBeLessThanOrEqual(1 / 255);
    }
  });

  it('shows reconstructions that resemble their own original more than any other digit shown', async () => {
    const img = await decode(join(out, 'reconstructions.png'));
    const layout = digitGridLayout(RECONSTRUCTED_IMAGES, RECONSTRUCTION_GRID);
    const originals = Array.from({ length: RECONSTRUCTED_IMAGES }, (_, i) => testImage(data, i));
    let recognized = 0;
    let own = 0;
    let shifted = 0;
    for (let i = 0; i < RECONSTRUCTED_IMAGES; i++) {
      const r = tile(img, layout, i, 'reconstruction');
      const errors = originals.map((o) => meanAbsDiff(r, o));
      const next = (i + 1) % RECONSTRUCTED_IMAGES;
      expect(errors[i], `reconstruction ${i} is closer to original ${next} than to its own`).toBeLessThan(errors[next]);
      if (errors.indexOf(Math.min(...errors)) === i) recognized++;
      own += errors[i];
      shifted += errors[next];
    }
    // After two short epochs the reconstructions are blurry, but most are nearest to their own
    // original among all twenty (chance: one in twenty), and clearly nearer than to a neighbour's.
    expect(recognized).toBeGreaterThanOrEqual(12);
    expect(own).toBeLessThan(0.7 * shifted);
  });

  it('draws the loss per epoch and the bottleneck codes of every digit class', async () => {
    const loss = await decode(join(out, 'loss.png'));
    expect([loss.width, loss.height]).toEqual([800, 500]);
    // The train and test loss lines.
    expect(pixelsOf(loss, CATEGORY_COLORS[0])).toBeGreaterThan(100);
    expect(pixelsOf(loss, CATEGORY_COLORS[1])).toBeGreaterThan(100);

    const latent = await decode(join(out, 'latent.png'));
    expect([latent.width, latent.height]).toEqual([800, 600]);
    // One colour a digit, each among the points and in the legend, which has the right margin
    // to itself; both are drawn at opacity 0.7 (chart.ts).
    const legendLeft = latent.width - 80;
    for (const color of CATEGORY_COLORS) {
      expect(pixelsOf(latent, color, 0, legendLeft, 0.7)).toBeGreaterThan(200);
      expect(pixelsOf(latent, color, legendLeft, latent.width, 0.7)).toBeGreaterThan(50);
    }
  });

  it('writes the same pictures with corefit eval --images', async () => {
    const images = join(dir, 'eval-images');
    const run = await runCli(['eval', '--checkpoint', out, '--images', images, '--test-rows', '1000', '--workers', '2', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [record] = jsonLines(run.stdout);
    expect(record.images).toEqual({ written: PICTURE_FILES.map((f) => join(images, f)), skipped: [] });
    for (const f of PICTURE_FILES) {
      const [fromTrain, fromEval] = await Promise.all([decode(join(out, f)), decode(join(images, f))]);
      expect([fromEval.width, fromEval.height]).toEqual([fromTrain.width, fromTrain.height]);
    }
    // Same parameters, same test rows, same stored history: the same pictures.
    const grid = await Promise.all([decode(join(out, 'reconstructions.png')), decode(join(images, 'reconstructions.png'))]);
    let differing = 0;
    for (let i = 0; i < grid[0].data.length; i++) if (Math.abs(grid[0].data[i] - grid[1].data[i]) > 1) differing++;
    expect(differing).toBe(0);
    expect((await readFile(join(images, 'loss.png'))).equals(await readFile(join(out, 'loss.png')))).toBe(true);
  });
});

/** Pixels in rows [y0, y1) that are white, and that are darker than mid-grey: text on a white band has many of both. */
function band(img: PNG, y0: number, y1: number): { white: number; dark: number } {
  let white = 0;
  let dark = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < img.width; x++) {
      const v = img.data[4 * (y * img.width + x)];
      if (v === 255) white++;
      else if (v < 128) dark++;
    }
  }
  return { white: white / ((y1 - y0) * img.width), dark };
}

describe('pictures after a single epoch', () => {
  let out: string;
  beforeAll(async () => {
    out = join(dir, 'one-epoch');
    const run = await runCli(['train', '--epochs', '1', '--train-rows', '1000', '--test-rows', '500', '--workers', '2', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
  });

  it('loss.png draws the BCE floor as a line across the plot', async () => {
    const loss = await decode(join(out, 'loss.png'));
    // A dashed line from edge to edge of the plot, below the legend.
    const best = lineRow(loss, FLOOR_COLOR);
    expect(best.count, 'pixels of the floor line').toBeGreaterThan(200);
    expect(best.right - best.left).toBeGreaterThan(0.7 * loss.width);
  });

  it('reconstructions.png has a title and names both blocks', async () => {
    const img = await decode(join(out, 'reconstructions.png'));
    const layout = digitGridLayout(RECONSTRUCTED_IMAGES, RECONSTRUCTION_GRID);
    expect([img.width, img.height]).toEqual([layout.imageWidth, layout.imageHeight]);
    const title = band(img, 0, TITLE_BAND);
    expect(title.white, 'the title band').toBeGreaterThan(0.8);
    expect(title.dark, 'the title').toBeGreaterThan(300);
    for (const block of ['original', 'reconstruction'] as const) {
      const top = layout.labelTop(block);
      const label = band(img, top, top + LABEL_BAND);
      expect(label.white, `the label band of the ${block} block`).toBeGreaterThan(0.8);
      expect(label.dark, `the label of the ${block} block`).toBeGreaterThan(150);
    }
  });
});

describe('pictures that do not apply', () => {
  it('gives a classifier its loss curve only', async () => {
    const out = join(dir, 'classifier');
    await train({ spec: await readSpecFile('examples/mnist-classifier.json'), epochs: 1, trainRows: 1000, testRows: 1000, workers: 2, out });
    const files = await readdir(out);
    expect(files).toContain('loss.png');
    expect(files).not.toContain('reconstructions.png');
    expect(files).not.toContain('latent.png');
  });

  it('skips reconstructions of rows that are not images, and loss before the first epoch, saying why', async () => {
    const data = await loadDataset({ normalize: true });
    const test = { ...data.test, rows: 500 };
    const layout = paramLayout(DEFAULT_SPEC);
    const buffers = allocateBuffers({ paramCount: layout.size, shards: 1, workers: 1, train: test, test });
    glorotUniformInit(layout, buffers.params, Rng.fromSeed(3));
    const pool = new WorkerPool({ workers: 1, buffers, setup: { spec: DEFAULT_SPEC, engine: 'auto', tfjsBackend: 'auto', maxRows: EVAL_CHUNK } });
    try {
      const out = join(dir, 'flat');
      const pictures = await writeTrainingPictures(out, await drawPictures(pool, { spec: DEFAULT_SPEC, test, history: [], imageShape: [PIXELS] }));
      expect(pictures.written).toEqual([join(out, 'latent.png')]);
      expect(pictures.skipped.map((s) => s.file)).toEqual(['reconstructions.png', 'loss.png']);
      expect(pictures.skipped[0].reason).toMatch(/not images \(shape 784, 784 values\)/);
      expect(pictures.skipped[1].reason).toMatch(/no epoch is complete/);
      expect(await readdir(out)).toEqual(['latent.png']);

      const blocked = join(out, 'latent.png', 'sub');
      const drawn = await drawPictures(pool, { spec: DEFAULT_SPEC, test, history: [], imageShape: [28, 28] });
      await expect(writeTrainingPictures(blocked, drawn)).rejects.toMatchObject({
        name: 'OutputError',
        exitCode: 66,
        message: `cannot write pictures into ${blocked}: a part of the path is a file, not a folder`,
      });
    } finally {
      await pool.close();
    }
  });
});
