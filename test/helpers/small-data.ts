/** A small MNIST-shaped IDX data set, quicker to load than MNIST for CLI tests that train only to see what happens around training. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_FILES } from '../../src/data/dataset.js';
import { encodeIdx } from '../../src/data/idx.js';

/** Writes 28 × 28 ubyte images with labels 0..9 into `dir` (created): `train` and `test` rows. */
export async function writeSmallDataSet(dir: string, rows: { train: number; test: number } = { train: 200, test: 100 }): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    const n = rows[split];
    const pixels = Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256);
    await writeFile(join(dir, DATA_FILES[split].images), encodeIdx({ dtype: 'ubyte', dims: [n, 28, 28], data: pixels }));
    await writeFile(join(dir, DATA_FILES[split].labels), encodeIdx({ dtype: 'ubyte', dims: [n], data: Uint8Array.from({ length: n }, (_, i) => i % 10) }));
  }
  return dir;
}
