/**
 * `corefit bench`: how training scales on this machine. Throughput for every worker
 * count and batch size, time-to-quality per batch size, the engine's ceiling, and
 * optionally PyTorch beside it, all from one run.
 */
import type { EngineChoice } from '../engine/engine.js';
import { loadDataset } from '../data/dataset.js';
import { assertModelFits } from '../data/fit.js';
import type { ModelSpec } from '../model/spec.js';
import { assertFitsInMemory } from '../parallel/memory.js';
import { engineRows, WorkerPool } from '../parallel/pool.js';
import { allocateBuffers } from '../parallel/buffers.js';
import { paramLayout } from '../model/layout.js';
import { describeMachine, type Machine } from '../machine.js';
import { measureThroughput, type ThroughputSample } from './throughput.js';
import { summarize, type Cell } from './summary.js';
import { timeToQuality, type TimeToQuality } from './time-to-quality.js';
import { engineCeiling, type Ceiling } from './ceiling.js';
import { runPeer, type PeerReport } from './peer.js';

export interface BenchOptions {
  readonly spec: ModelSpec;
  readonly data?: string;
  readonly engine: EngineChoice;
  readonly workers: readonly number[];
  readonly batchSizes: readonly number[];
  readonly repeats: number;
  readonly budget: { readonly steps: number } | { readonly seconds: number };
  /** Target test loss of time-to-quality; 0 skips it. */
  readonly target: number;
  readonly maxEpochs: number;
  /** Batch sizes whose time-to-quality is measured (a subset of batchSizes). */
  readonly qualityBatchSizes: readonly number[];
  readonly peer?: 'pytorch';
  readonly log: (line: string) => void;
}

export interface BenchReport {
  readonly format: 'corefit-bench';
  readonly version: 1;
  readonly created: string;
  readonly model: string;
  readonly machine: Machine;
  readonly options: Omit<BenchOptions, 'spec' | 'log'>;
  readonly samples: readonly ThroughputSample[];
  readonly cells: readonly Cell[];
  readonly ceiling: readonly Ceiling[];
  readonly timeToQuality: readonly TimeToQuality[];
  readonly peer: PeerReport | null;
}

/** Which engine and backend `auto` resolves to here, asked of a one-thread pool. */
async function engineInfo(spec: ModelSpec, engine: EngineChoice, data: Awaited<ReturnType<typeof loadDataset>>) {
  const buffers = allocateBuffers({ paramCount: paramLayout(spec).size, shards: 1, workers: 1, train: data.test, test: data.test });
  const pool = new WorkerPool({ workers: 1, buffers, setup: { spec, engine, tfjsBackend: 'auto', maxRows: 1 } });
  try {
    return await pool.info();
  } finally {
    await pool.close();
  }
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const data = await loadDataset({ dir: o.data, normalize: o.spec.normalize });
  assertModelFits(o.spec, data);
  // The largest cell alone; the sweep keeps one pool per worker count, so this is a lower bound.
  const workers = Math.max(...o.workers);
  assertFitsInMemory(o.spec, {
    shards: workers,
    workers,
    maxRows: engineRows(Math.max(...o.batchSizes), workers),
    rows: data.train.rows,
  });
  const info = await engineInfo(o.spec, o.engine, data);
  if (info.note !== undefined) o.log(`note: ${info.note}`);
  const machine = describeMachine(info.engine, info.backend);
  o.log(`bench: ${o.spec.name} on ${machine.cpu} (${machine.cores} cores), engine ${info.engine} (${info.backend})`);

  o.log(
    `throughput: workers ${o.workers.join(', ')} × batch ${o.batchSizes.join(', ')}, ${o.repeats} interleaved repetitions, each with its independent ceiling`,
  );
  const samples = await measureThroughput({
    spec: o.spec,
    data,
    engine: o.engine,
    workers: o.workers,
    batchSizes: o.batchSizes,
    repeats: o.repeats,
    budget: o.budget,
    onSample: (s, done, total) =>
      o.log(
        `  [${done}/${total}] ${s.workers} worker(s), batch ${s.batchSize}: ${Math.round(s.samplesPerSec)} samples/s${
          s.workers > 1 ? `; independent ceiling ${Math.round(s.independent.samplesPerSec)} (${s.independent.trainers.map(Math.round).join(' + ')})` : ''
        }`,
      ),
  });
  const cells = summarize(samples);
  const ceiling = info.engine === 'native' ? engineCeiling(o.spec, o.batchSizes) : [];

  const timeToQualityRuns: TimeToQuality[] = [];
  if (o.target > 0) {
    for (const batchSize of o.qualityBatchSizes) {
      const fastest = cells.filter((c) => c.batchSize === batchSize).sort((a, b) => b.samplesPerSec - a.samplesPerSec)[0];
      o.log(`time-to-quality: batch ${batchSize} on ${fastest.workers} worker(s), target test loss ${o.target}, at most ${o.maxEpochs} epochs`);
      timeToQualityRuns.push(
        await timeToQuality({
          spec: o.spec,
          dataset: data,
          engine: o.engine,
          batchSize,
          workers: fastest.workers,
          target: o.target,
          maxEpochs: o.maxEpochs,
          onEpoch: (p) => o.log(`  epoch ${p.epoch}: test loss ${p.testLoss.toFixed(4)} at ${p.seconds.toFixed(1)} s`),
        }),
      );
    }
  }
  const peer = o.peer === 'pytorch' ? await runPeer(o, o.log) : null;
  const { spec: _spec, log: _log, ...options } = o;
  return {
    format: 'corefit-bench',
    version: 1,
    created: new Date().toISOString(),
    model: o.spec.name,
    machine,
    options,
    samples,
    cells,
    ceiling,
    timeToQuality: timeToQualityRuns,
    peer,
  };
}
