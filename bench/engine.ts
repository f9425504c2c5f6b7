/**
 * One worker's training step on the seed model, side by side in one run, at per-worker
 * batch 25, 50, 100 and 500: the native engine, the tfjs engine, PyTorch with one thread
 * (bench/peer/pytorch.py, where /usr/bin/python3 has torch) and, as the practical
 * ceiling, plain single-threaded sgemm of the layers' GEMMs (src/bench/ceiling.ts).
 *
 *   npm run bench:engine [-- --seconds 2 --tfjs-backend wasm --no-pytorch]
 *
 * A step is what one worker does alone: gather the rows, forward, backward, the
 * all-reduce of its one slot (the mean) and Adam over all parameters. GFLOP/s counts
 * trainFlopsPerSample (3 GEMMs per layer) for every row, so it is proportional to samples/s.
 * sgemm and native take the best of ROUNDS interleaved rounds: on a shared machine the
 * best round is the one least disturbed, and interleaving keeps their ratio fair.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sgemmStepSeconds } from '../src/bench/ceiling.js';
import { loadDataset, defaultDataDir, type Split } from '../src/data/dataset.js';
import type { Engine } from '../src/engine/engine.js';
import { createNativeEngine, nativeAddon } from '../src/engine/native.js';
import { createTfjsEngine } from '../src/engine/tfjs.js';
import type { TfjsBackendChoice } from '../src/engine/tfjs-backend.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout, trainFlopsPerSample } from '../src/model/layout.js';
import { DEFAULT_SPEC, type ModelSpec } from '../src/model/spec.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { Rng } from '../src/rng.js';

const BATCHES = [25, 50, 100, 500];
const ROUNDS = 3;
const TFJS_BACKENDS: readonly string[] = ['auto', 'tensorflow', 'wasm', 'cpu'] satisfies readonly TfjsBackendChoice[];
const PYTHON = '/usr/bin/python3';
const PYTORCH_SCRIPT = join(PACKAGE_ROOT, 'bench', 'peer', 'pytorch.py');

interface Row {
  readonly batch: number;
  readonly what: string;
  readonly samplesPerSec?: number;
  readonly note?: string;
}

/** Steps per second of step(i), timed for `seconds` (and at least minSteps) after one untimed step. */
function stepsPerSecond(step: (i: number) => void, seconds: number, minSteps: number): number {
  step(0);
  const start = performance.now();
  let n = 0;
  let elapsed = 0;
  while (n < minSteps || elapsed < seconds * 1000) {
    step(++n);
    elapsed = performance.now() - start;
  }
  return n / (elapsed / 1000);
}

/** Training steps of one worker with `engine` over batches of an epoch permutation of `train`. */
function engineSamplesPerSec(engine: Engine, train: Split, batch: number, seconds: number, minSteps: number): number {
  const rng = Rng.fromSeed(1);
  const layout = paramLayout(engine.spec);
  const [params, grad, m, v] = Array.from({ length: 4 }, () => new Float32Array(new SharedArrayBuffer(layout.size * 4)));
  glorotUniformInit(layout, params, rng);
  const order = Int32Array.from({ length: train.rows }, (_, i) => i);
  rng.shuffle(order);
  const batches = Math.floor(train.rows / batch);
  const step = (i: number): void => {
    const rows = order.subarray((i % batches) * batch, (i % batches + 1) * batch);
    engine.gradients(params, train, rows, grad, false);
    engine.reduceAdam(params, m, v, grad, 1, 0, layout.size, batch, { t: i + 1, lr: 0.001, config: engine.spec.optimizer, gradScale: 1 });
  };
  return batch * stepsPerSecond(step, seconds, minSteps);
}

/** PyTorch 1 thread through bench/peer/pytorch.py, or why it could not run. */
function pytorchRow(batch: number, seconds: number): Row {
  const what = 'pytorch, 1 thread';
  if (!existsSync(PYTHON) || !existsSync(PYTORCH_SCRIPT)) return { batch, what, note: `needs ${PYTHON} and ${PYTORCH_SCRIPT}` };
  // About 20,000 samples/s on this kind of machine: aim at `seconds` of timed steps.
  const steps = String(Math.max(20, Math.round((20_000 * seconds) / batch)));
  const run = spawnSync(PYTHON, [PYTORCH_SCRIPT, '--data', defaultDataDir(), 'throughput', '--threads', '1', '--batch', String(batch), '--steps', steps], {
    encoding: 'utf8',
  });
  const line = run.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (run.status !== 0 || line === undefined) return { batch, what, note: (run.stderr || run.error?.message || 'no output').trim().split('\n')[0] };
  const record = JSON.parse(line) as { samplesPerSec: number; torch: string };
  return { batch, what: `pytorch ${record.torch}, 1 thread`, samplesPerSec: record.samplesPerSec };
}

function table(rows: readonly Row[], flopsPerSample: number): string {
  const ceiling = new Map(rows.filter((r) => r.what.startsWith('sgemm')).map((r) => [r.batch, r.samplesPerSec ?? NaN]));
  const header = ['batch', 'what', 'samples/s', 'GFLOP/s', 'of sgemm'];
  const body = rows.map((r) =>
    r.samplesPerSec === undefined
      ? [String(r.batch), r.what, `unavailable: ${r.note ?? ''}`, '', '']
      : [
          String(r.batch),
          r.what,
          Math.round(r.samplesPerSec).toLocaleString('en-US'),
          ((r.samplesPerSec * flopsPerSample) / 1e9).toFixed(1),
          `${Math.round((100 * r.samplesPerSec) / (ceiling.get(r.batch) ?? NaN))}%`,
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.filter((b) => b[3] !== '').map((b) => b[i].length)));
  const format = (cells: string[]): string => cells.map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [format(header), ...body.map(format)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '1' },
      'tfjs-backend': { type: 'string', default: 'auto' },
      'no-pytorch': { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a number > 0, got ${values.seconds}`);
  const backend = values['tfjs-backend'];
  if (!TFJS_BACKENDS.includes(backend)) throw new Error(`--tfjs-backend must be one of ${TFJS_BACKENDS.join(', ')}, got ${backend}`);
  const spec = DEFAULT_SPEC;
  const flopsPerSample = trainFlopsPerSample(spec);
  const { train } = await loadDataset({ normalize: spec.normalize });
  const maxBatch = Math.max(...BATCHES);
  const native = createNativeEngine(spec, maxBatch);
  const tfjs = await createTfjsEngine(spec, maxBatch, backend as TfjsBackendChoice);

  console.log(`seed model ${[spec.inputSize, ...spec.layers.map((l) => l.units)].join('-')}, one worker, MNIST train rows`);
  console.log(`native: ${nativeAddon().blasInfo().config}`);
  console.log(`tfjs: ${tfjs.backend} backend${tfjs.note === undefined ? '' : `; ${tfjs.note}`}`);
  console.log(`a step: gather, forward, backward, all-reduce, Adam (sgemm: the GEMMs alone); ${(flopsPerSample / 1e6).toFixed(2)} MFLOP per sample`);
  console.log(`native: best of ${ROUNDS} rounds of ${seconds} s, interleaved with the sgemm timings\n`);

  const rows: Row[] = [];
  for (const batch of BATCHES) {
    let [ceiling, fastest] = [0, 0];
    for (let round = 0; round < ROUNDS; round++) {
      ceiling = Math.max(ceiling, batch / sgemmStepSeconds(spec, batch));
      fastest = Math.max(fastest, engineSamplesPerSec(native, train, batch, seconds, 3));
    }
    rows.push({ batch, what: 'sgemm, 3 GEMMs per layer', samplesPerSec: ceiling });
    rows.push({ batch, what: `native (${native.backend})`, samplesPerSec: fastest });
    // tfjs is 10–100× slower: a few steps are enough.
    rows.push({ batch, what: `tfjs (${tfjs.backend})`, samplesPerSec: engineSamplesPerSec(tfjs, train, batch, seconds, 2) });
    if (!values['no-pytorch']) rows.push(pytorchRow(batch, seconds));
  }
  native.dispose();
  tfjs.dispose();
  console.log(table(rows, flopsPerSample));
}

await main();
