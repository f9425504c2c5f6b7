/**
 * Soak: many epochs on a subset of MNIST as a chain of train → stop → resume cycles
 * that alternate between 2 and 1 workers (--shards 2 fixed, so the arithmetic is the
 * same), every other cycle stopping mid-epoch as SIGINT would. It samples the process's
 * RSS (after a full GC; worker threads live in this process) at every epoch and checks
 * that it stays flat, and that the final weights equal an uninterrupted run's, bit for bit.
 *
 *   npm run soak    (node --expose-gc dist/scripts/soak.js [--epochs 90] [--cycle-epochs 3] [--train-rows 10000] [--tolerance-mb 64])
 *
 * Prints a summary and exits 1 when memory grows or the weights differ. It takes a
 * couple of minutes, so it is not part of `npm test`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/median.js';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { DATA_FILES, defaultDataDir } from '../src/data/dataset.js';
import { encodeIdx, readIdx } from '../src/data/idx.js';
import type { TrainEvent } from '../src/train/events.js';
import type { TrainOptions } from '../src/train/options.js';
import { train } from '../src/train/train.js';

interface Sample {
  readonly cycle: number;
  readonly rssMb: number;
}

/** Cycles stop mid-epoch at the first checkpoint within their last epoch: every CHECKPOINT_EVERY steps. */
const CHECKPOINT_EVERY = 20;

const MB = 2 ** 20;

/** The first `rows` rows of each MNIST split as an IDX folder, so that every resume loads only the subset. */
async function writeSubset(dir: string, trainRows: number, testRows: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [split, rows] of [
    ['train', trainRows],
    ['test', testRows],
  ] as const) {
    for (const name of [DATA_FILES[split].images, DATA_FILES[split].labels]) {
      const idx = await readIdx(join(defaultDataDir(), name));
      const perRow = idx.data.length / idx.dims[0];
      await writeFile(join(dir, name), encodeIdx({ dtype: idx.dtype, dims: [rows, ...idx.dims.slice(1)], data: idx.data.subarray(0, rows * perRow) }));
    }
  }
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      epochs: { type: 'string', default: '90' },
      'cycle-epochs': { type: 'string', default: '3' },
      'train-rows': { type: 'string', default: '10000' },
      'tolerance-mb': { type: 'string', default: '64' },
    },
  });
  const epochs = Number(values.epochs);
  const cycleEpochs = Number(values['cycle-epochs']);
  const trainRows = Number(values['train-rows']);
  const toleranceMb = Number(values['tolerance-mb']);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (npm run soak does), so that RSS is sampled after a full GC');

  const root = await mkdtemp(join(tmpdir(), 'corefit-soak-'));
  try {
    const data = join(root, 'data');
    await writeSubset(data, trainRows, 2000);
    const out = join(root, 'checkpoint');
    const config: TrainOptions = { data, batchSize: 100, shards: 2, seed: 11, epochs };
    console.log(`soak: ${epochs} epochs of ${trainRows} MNIST images, batch 100, --shards 2, cycles of ${cycleEpochs} epochs alternating 2 and 1 workers`);

    const samples: Sample[] = [];
    let epochsDone = 0;
    for (let cycle = 0; epochsDone < epochs; cycle++) {
      const workers = cycle % 2 === 0 ? 2 : 1;
      const target = Math.min(epochs, epochsDone + cycleEpochs);
      const midEpochStop = cycle % 2 === 1 && target < epochs;
      const controller = new AbortController();
      const onEvent = (e: TrainEvent): void => {
        if (e.type === 'epoch') {
          gc();
          samples.push({ cycle, rssMb: process.memoryUsage().rss / MB });
        } else if (e.type === 'checkpoint' && midEpochStop && e.epoch === target - 1 && e.step % CHECKPOINT_EVERY === 0) {
          controller.abort();
        }
      };
      const result = await train({
        ...config,
        workers,
        epochs: target,
        out,
        checkpointEvery: CHECKPOINT_EVERY,
        resume: cycle === 0 ? undefined : out,
        signal: controller.signal,
        onEvent,
      });
      epochsDone = result.progress.epoch;
      const rss = samples.filter((s) => s.cycle === cycle).map((s) => s.rssMb);
      console.log(
        `cycle ${String(cycle + 1).padStart(2)}: ${workers} worker${workers > 1 ? 's' : ' '}, ${result.status === 'stopped' ? `stopped mid-epoch at step ${result.progress.step}` : `to epoch ${epochsDone}`}` +
          (rss.length === 0 ? '' : `, RSS ${Math.min(...rss).toFixed(0)}–${Math.max(...rss).toFixed(0)} MB`),
      );
    }

    const reference = await train({ ...config, workers: 2 });
    const resumed = (await readCheckpoint(out)).params;
    const exact = bytes(resumed).equals(bytes(reference.params));

    // RSS rises over the first cycles and then levels off (modules, JIT code, and the malloc arenas
    // of new worker threads, reused once threads have come and gone), and then wanders by some tens
    // of MB as threads come and go. A leak keeps rising: the last third must not sit above the middle one by more than the tolerance.
    const third = Math.floor(samples.length / 3);
    const middle = median(samples.slice(third, 2 * third).map((s) => s.rssMb));
    const last = median(samples.slice(2 * third).map((s) => s.rssMb));
    const flat = last - middle <= toleranceMb;
    console.log(`RSS per epoch (MB): ${samples.map((s) => s.rssMb.toFixed(0)).join(' ')}`);
    console.log(
      `RSS median of the middle third ${middle.toFixed(0)} MB, of the last third ${last.toFixed(0)} MB: ${last >= middle ? '+' : ''}${(last - middle).toFixed(0)} MB (tolerance ${toleranceMb} MB): ${flat ? 'flat' : 'GROWING'}`,
    );
    console.log(
      `final weights after ${samples.length} epochs in cycles vs. one uninterrupted run: ${exact ? 'bitwise equal' : 'DIFFERENT'} (${resumed.length} floats)`,
    );
    console.log(`soak: ${flat && exact ? 'PASS' : 'FAIL'}`);
    return flat && exact ? 0 : 1;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
