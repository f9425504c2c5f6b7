/**
 * One worker's training step on the seed model, with the native engine's own GEMM kernels,
 * against the core's FMA peak and against OpenBLAS, side by side in one run, at per-worker
 * batch 50, 100 and 500.
 *
 *   npm run bench:engine [-- --seconds 1 --rounds 3]
 *
 * The cells, interleaved round by round so that a disturbance of the machine hits them alike:
 *  - peak: the core's FP32 FMA rate, fused multiply-adds on registers only, per kernel
 *    path this CPU runs;
 *  - full step: the native engine's gradients() on MNIST train rows (gather, forward, loss,
 *    backward; no all-reduce, no Adam), per kernel path;
 *  - GEMMs alone: the same step's GEMMs with the same kernels (src/bench/ceiling.ts);
 *  - where OpenBLAS is installed, the same step and GEMMs with cblas_sgemm in place of the
 *    kernels (scripts/openblas.ts), run as the environment sets OpenBLAS up, and again with
 *    OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset in that command only, so that OpenBLAS
 *    picks its best kernel for this CPU.
 * Each figure is the fastest of its timings (a step, one pass over the GEMMs, a 0.1 ms
 * window of FMAs): on a shared machine the fastest is the least disturbed. GFLOP/s counts
 * the FLOPs the step needs (trainFlopsPerSample); % of peak is against the fastest path's
 * peak measured in this run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gemmStepSeconds } from '../src/bench/ceiling.js';
import { loadDataset, type Split } from '../src/data/dataset.js';
import type { Engine } from '../src/engine/engine.js';
import { createNativeEngine, nativeAddon, type KernelPathName } from '../src/engine/native.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout, trainFlopsPerSample } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { Rng } from '../src/rng.js';
import { buildOpenblasStep, runOpenblasStep, type OpenblasStep } from './openblas.js';

const BATCHES = [50, 100, 500];
const PEAK_SECONDS = 0.2;

type Kind = 'full step' | 'GEMMs alone';

interface Cell {
  readonly batch: number;
  readonly who: string;
  readonly kind: Kind;
  samplesPerSec: number;
}

/** Samples/s of the fastest of one worker's steps with `engine`, over batches of an epoch permutation of `train`. */
function fastestStep(engine: Engine, train: Split, batch: number, seconds: number): number {
  const rng = Rng.fromSeed(1);
  const layout = paramLayout(engine.spec);
  const params = new Float32Array(new SharedArrayBuffer(layout.size * 4));
  const grad = new Float32Array(new SharedArrayBuffer(layout.size * 4));
  glorotUniformInit(layout, params, rng);
  const order = Int32Array.from({ length: train.rows }, (_, i) => i);
  rng.shuffle(order);
  const batches = Math.floor(train.rows / batch);
  let fastest = Infinity;
  const started = performance.now();
  for (let i = 0; i < 2 || performance.now() - started < seconds * 1000; i++) {
    const rows = order.subarray((i % batches) * batch, ((i % batches) + 1) * batch);
    const t = performance.now();
    engine.gradients(params, train, rows, grad, false);
    if (i > 0) fastest = Math.min(fastest, performance.now() - t); // the first step warms the caches
  }
  return batch / (fastest / 1000);
}

function table(cells: readonly Cell[], flopsPerSample: number, peak: number): string {
  const find = (c: Cell, who: string): Cell | undefined => cells.find((o) => o.batch === c.batch && o.kind === c.kind && o.who === who);
  const ratio = (c: Cell, who: string): string => {
    const other = find(c, who);
    return other === undefined ? '' : `${(c.samplesPerSec / other.samplesPerSec).toFixed(2)}×`;
  };
  const header = ['batch', 'what', 'samples/s', 'GFLOP/s', '% of peak', 'vs OpenBLAS as set', 'vs OpenBLAS best'];
  const body = cells.map((c) => {
    const gflops = (c.samplesPerSec * flopsPerSample) / 1e9;
    return [
      String(c.batch),
      `${c.who}: ${c.kind}`,
      Math.round(c.samplesPerSec).toLocaleString('en-US'),
      gflops.toFixed(1),
      `${((100 * gflops) / peak).toFixed(0)} %`,
      ratio(c, OPENBLAS_AS_SET),
      ratio(c, OPENBLAS_BEST),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const format = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [format(header), ...body.map(format)].join('\n');
}

const OPENBLAS_AS_SET = 'OpenBLAS as set';
const OPENBLAS_BEST = 'OpenBLAS best';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1' }, rounds: { type: 'string', default: '3' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (!(seconds > 0)) throw new Error(`--seconds must be a number > 0, got ${values.seconds}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1, got ${values.rounds}`);
  const spec = DEFAULT_SPEC;
  const flopsPerSample = trainFlopsPerSample(spec);
  const addon = nativeAddon();
  const info = addon.kernelInfo();
  const paths = info.paths.filter((p) => p.runs).map((p) => p.name);
  const { train } = await loadDataset({ normalize: spec.normalize });
  const maxBatch = Math.max(...BATCHES);
  const engines = new Map<KernelPathName, Engine>(paths.map((p) => [p, createNativeEngine(spec, maxBatch, p)]));

  console.log(`seed model ${[spec.inputSize, ...spec.layers.map((l) => l.units)].join('-')}, one worker, MNIST train rows`);
  console.log(`a step: gather, forward, loss, backward (no Adam); ${(flopsPerSample / 1e6).toFixed(2)} MFLOP per sample`);
  for (const p of info.paths)
    console.log(`kernels ${p.name} (${p.isa}): ${p.runs ? (p.name === info.chosen ? 'runs, chosen by auto' : 'runs') : `skipped: ${p.whyNot}`}`);

  const openblas = buildOpenblasStep();
  const dir = mkdtempSync(join(tmpdir(), 'corefit-bench-'));
  const rowsFile = join(dir, 'rows.f32');
  const layers = [String(spec.inputSize), ...spec.layers.map((l) => `${l.units}:${l.activation}`)];
  const bestEnv = { ...process.env };
  delete bestEnv.OPENBLAS_CORETYPE;
  delete bestEnv.OPENBLAS_L2_SIZE;
  const openblasRuns: ReadonlyArray<readonly [string, NodeJS.ProcessEnv]> = [
    [OPENBLAS_AS_SET, process.env],
    [OPENBLAS_BEST, bestEnv],
  ];
  if ('program' in openblas) {
    // All the train rows, as the engine's steps gather them: from memory, not from cache.
    writeFileSync(rowsFile, new Uint8Array(train.x.buffer, train.x.byteOffset, train.rows * spec.inputSize * 4));
  } else {
    console.log(`OpenBLAS: not compared: ${openblas.reason}`);
  }
  console.log(`each figure: the fastest of its timings over ${rounds} interleaved rounds of ${seconds} s per cell\n`);

  const cells: Cell[] = [];
  const peaks = new Map<KernelPathName, number>();
  const openblasCores = new Map<string, OpenblasStep>();
  const record = (batch: number, who: string, kind: Kind, samplesPerSec: number): void => {
    const cell = cells.find((c) => c.batch === batch && c.who === who && c.kind === kind);
    if (cell === undefined) cells.push({ batch, who, kind, samplesPerSec });
    else cell.samplesPerSec = Math.max(cell.samplesPerSec, samplesPerSec);
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const batch of BATCHES) {
        for (const p of paths) peaks.set(p, Math.max(peaks.get(p) ?? 0, addon.fmaPeak(p, PEAK_SECONDS)));
        for (const [p, engine] of engines) {
          record(batch, `corefit ${p}`, 'full step', fastestStep(engine, train, batch, seconds));
          record(batch, `corefit ${p}`, 'GEMMs alone', batch / gemmStepSeconds(spec, batch, p, seconds));
        }
        if (!('program' in openblas)) continue;
        for (const [who, env] of openblasRuns) {
          const r = runOpenblasStep(openblas.program, rowsFile, batch, seconds, layers, env);
          openblasCores.set(who, r);
          record(batch, who, 'full step', r.stepSamplesPerSec);
          record(batch, who, 'GEMMs alone', r.gemmSamplesPerSec);
        }
      }
    }
  } finally {
    for (const engine of engines.values()) engine.dispose();
    rmSync(dir, { recursive: true, force: true });
  }

  for (const [p, gflops] of peaks)
    console.log(`FMA peak, ${p}: ${gflops.toFixed(1)} GFLOP/s = ${Math.round((gflops * 1e9) / flopsPerSample).toLocaleString('en-US')} samples/s`);
  for (const [who, r] of openblasCores) {
    const unset = who === OPENBLAS_BEST ? 'OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset' : `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}`;
    console.log(`${who} (${unset}): core ${r.core}; ${r.config}`);
  }
  const peak = Math.max(...peaks.values());
  const kindOrder: readonly Kind[] = ['full step', 'GEMMs alone'];
  cells.sort((a, b) => a.batch - b.batch || kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind));
  console.log(`% of peak: against ${peak.toFixed(1)} GFLOP/s\n`);
  console.log(table(cells, flopsPerSample, peak));
}

await main();
