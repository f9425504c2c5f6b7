/** A model too large for the machine is refused before anything is allocated, with the figures, not called a bug. */
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, MemoryError } from '../src/errors.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { assertFitsInMemory, memoryNeeded } from '../src/parallel/memory.js';
import { jsonLines, runCli } from './helpers/cli.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-memory-');
let huge: string;

beforeAll(async () => {
  huge = `${freshDir()}.json`;
  // Two layers 100,000 wide: 10 billion parameters, 40 GB each for the weights, m, v and every gradient slot.
  await writeFile(
    huge,
    JSON.stringify({
      name: 'huge',
      input: { size: 784 },
      loss: 'binary_crossentropy',
      layers: [
        { units: 100000, activation: 'relu' },
        { units: 100000, activation: 'relu' },
        { units: 784, activation: 'sigmoid' },
      ],
    }),
  );
});

describe('a model too large to allocate', () => {
  it('is refused by train, saying how much it needs and how much is available', async () => {
    const run = await runCli(['train', '--model', huge, '--train-rows', '200', '--test-rows', '100', '--workers', '2', '--epochs', '1', '--json']);
    expect(run.code, run.stderr).toBe(EXIT_CODES.MEMORY);
    expect(run.stderr).toMatch(
      /model "huge" needs about \d+\.\d GiB of memory, but \d+\.\d+ GiB is available: .* for its 10,157,000,784 parameters, Adam's moments and 2 gradient slots/,
    );
    expect(run.stderr).not.toContain('bug in corefit');
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'error', code: 'MEMORY' });
  });

  it('is refused by bench before it measures', async () => {
    const run = await runCli(['bench', '--model', huge, '--workers', '1', '--batch-sizes', '100', '--steps', '1', '--repeats', '1', '--target', '0']);
    expect(run.code, run.stderr).toBe(EXIT_CODES.MEMORY);
    expect(run.stderr).toMatch(/model "huge" needs about \d+\.\d GiB of memory, but/);
  });
});

describe('memoryNeeded', () => {
  it("counts parameters, both moments and a slot per shard, and each worker's workspaces", () => {
    const p = paramLayout(DEFAULT_SPEC).size;
    const need = memoryNeeded(DEFAULT_SPEC, { shards: 4, workers: 2, maxRows: 1000, rows: 60000 });
    expect(need.shared).toBe(4 * p * 7 + 8 * 60000);
    // Gathered rows (784) and labels (1), the six layers' activations, two gradient buffers of the widest layer (784).
    expect(need.perWorker).toBe(4 * 1000 * (784 + 1 + (128 + 64 + 28 + 64 + 128 + 784) + 2 * 784));
    expect(need.total).toBe(need.shared + 2 * need.perWorker);
  });

  it('refuses exactly what exceeds the available memory', () => {
    const plan = { shards: 2, workers: 2, maxRows: 1000, rows: 60000 };
    const { total } = memoryNeeded(DEFAULT_SPEC, plan);
    expect(() => assertFitsInMemory(DEFAULT_SPEC, plan, total)).not.toThrow();
    expect(() => assertFitsInMemory(DEFAULT_SPEC, plan, total - 1)).toThrow(MemoryError);
  });
});
