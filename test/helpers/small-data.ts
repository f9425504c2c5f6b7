/** Small MNIST-shaped IDX data sets, quicker to load than MNIST, for tests whose property does not depend on the data's size. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_FILES, defaultDataDir } from '../../src/data/dataset.js';
import { encodeIdx, readIdx } from '../../src/data/idx.js';

/** Rows of the train and test splits. */
export interface SplitRows {
  readonly train: number;
  readonly test: number;
}

/** Writes 28 × 28 ubyte images with labels 0..9 into `dir` (created): `train` and `test` rows. */
export async function writeSmallDataSet(dir: string, rows: SplitRows = { train: 200, test: 100 }): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    const n = rows[split];
    const pixels = Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256);
    await writeFile(join(dir, DATA_FILES[split].images), encodeIdx({ dtype: 'ubyte', dims: [n, 28, 28], data: pixels }));
    await writeFile(join(dir, DATA_FILES[split].labels), encodeIdx({ dtype: 'ubyte', dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }));
  }
  return dir;
}

/** Writes the first rows of MNIST's train and test splits into `dir` (created), for tests that need real images that learn. */
export async function writeMnistSubset(dir: string, rows: SplitRows): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    for (const kind of ['images', 'labels'] as const) {
      const idx = await readIdx(join(defaultDataDir(), DATA_FILES[split][kind]));
      const rowSize = idx.data.length / idx.dims[0];
      const array = { dtype: idx.dtype, dims: [rows[split], ...idx.dims.slice(1)], data: idx.data.subarray(0, rows[split] * rowSize) };
      await writeFile(join(dir, DATA_FILES[split][kind]), encodeIdx(array));
    }
  }
  return dir;
}
