/**
 * `mpirun … corefit bench --comm mpi`: what the MPI transport costs and what it would
 * give on more machines. Per global batch size, in the same job and interleaved:
 *  - R ranks × W workers training with --comm mpi: per step the compute, the local reduce,
 *    the cross-rank exchange, the update, and the bytes each rank sends;
 *  - one process with R × W workers on rank 0's machine (the other ranks wait), the
 *    in-process reference the transport must keep up with.
 * Then the link between the ranks is measured (alltoallv at two sizes: latency and
 * bandwidth), the scale-out model (scale-out.ts) is checked against the measured job,
 * and its projection for 1 … 64 machines is tabled and plotted (scaleout.png).
 */
import { loadDataset } from '../data/dataset.js';
import type { EngineChoice } from '../engine/engine.js';
import { paramLayout } from '../model/layout.js';
import type { ModelSpec } from '../model/spec.js';
import type { MpiSession } from '../parallel/mpi/session.js';
import { renderLineChartPng } from '../report/chart.js';
import { formatMarkdownTable, formatTerminalTable, type Column } from '../report/table.js';
import { writeReportFiles } from '../report/write-files.js';
import type { EpochEvent } from '../train/events.js';
import { train } from '../train/train.js';
import { median } from '../median.js';
import { fitLink, project, stepSeconds, type Projection, type ScaleOutInputs } from './scale-out.js';

export interface MpiBenchOptions {
  readonly session: MpiSession;
  readonly spec: ModelSpec;
  readonly data?: string;
  readonly engine: EngineChoice;
  /** Workers per rank. */
  readonly workers: number;
  readonly batchSizes: readonly number[];
  /** Steps per measurement. */
  readonly steps: number;
  readonly repeats: number;
  readonly log: (line: string) => void;
}

export interface MpiCell {
  readonly batchSize: number;
  readonly ranks: number;
  readonly workers: number;
  /** Medians over the repeats. */
  readonly mpiSamplesPerSec: number;
  readonly oneProcessSamplesPerSec: number;
  /** mpi / one process. */
  readonly ratio: number;
  readonly stepSeconds: number;
  readonly compute: number;
  readonly localReduce: number;
  readonly exchange: number;
  readonly update: number;
  readonly bytesSentPerStep: number;
  /** The model's step time for this job, from its inputs and the measured link. */
  readonly modelStepSeconds: number;
}

export interface MpiBenchReport {
  readonly ranks: number;
  readonly workers: number;
  readonly params: number;
  readonly link: { readonly latency: number; readonly bytesPerSecond: number; readonly messageBytes: number };
  readonly cells: readonly MpiCell[];
  readonly model: ScaleOutInputs;
  readonly projections: readonly Projection[];
}

/** Global batches the projection is made for, besides those measured. */
const PROJECTED_BATCHES = [1000, 4000, 16000];

/** Every rank runs it; rank 0 gets the report, the others undefined. */
export async function runMpiBench(o: MpiBenchOptions): Promise<MpiBenchReport | undefined> {
  const { session } = o;
  const R = session.ranks;
  const dataset = await loadDataset({ dir: o.data, normalize: o.spec.normalize });
  const params = paramLayout(o.spec).size;
  const cells: MpiCell[] = [];
  let model: ScaleOutInputs | undefined;

  // The link: alltoallv of one small message and of the exchange's own message size.
  const messageBytes = Math.ceil((params * 4) / R);
  const small = { bytes: 1024, seconds: await session.probe(1024, 50) };
  const large = { bytes: messageBytes, seconds: await session.probe(messageBytes, 20) };
  const link = { ...fitLink(small, large), messageBytes };
  o.log(
    `link between ranks: latency ${(link.latency * 1e6).toFixed(1)} µs, ${(link.bytesPerSecond / 1e9).toFixed(2)} GB/s (alltoallv of ${small.bytes} and ${large.bytes} bytes)`,
  );

  for (const batchSize of o.batchSizes) {
    const trainRows = Math.min(dataset.train.rows, o.steps * batchSize);
    const common = { spec: o.spec, dataset, engine: o.engine, batchSize, epochs: 1, trainRows, testRows: 100 };
    // Rank 0's epochs, with its exchange (the other ranks' train() reports nothing).
    const mpi: EpochEvent[] = [];
    const one: number[] = [];
    for (let rep = 0; rep < o.repeats; rep++) {
      await train({ ...common, comm: session, workers: o.workers, onEvent: (e) => e.type === 'epoch' && mpi.push(e) });
      await session.barrier();
      if (session.rank === 0) {
        const alone = await train({ ...common, workers: R * o.workers, shards: R * o.workers });
        one.push(alone.epochs[0].samples_per_sec);
      }
      await session.barrier();
    }
    if (session.rank !== 0) continue;
    const med = (f: (e: EpochEvent) => number): number => median(mpi.map(f));
    const inputs: ScaleOutInputs = {
      computePerSample: med((e) => e.step_seconds.compute) / (batchSize / R),
      localReduce: med((e) => e.exchange!.local_reduce),
      update: med((e) => e.exchange!.update),
      measuredRanks: R,
      latency: link.latency,
      params,
    };
    model = inputs;
    const cell: MpiCell = {
      batchSize,
      ranks: R,
      workers: o.workers,
      mpiSamplesPerSec: med((e) => e.samples_per_sec),
      oneProcessSamplesPerSec: one.length === 0 ? NaN : median(one),
      ratio: one.length === 0 ? NaN : med((e) => e.samples_per_sec) / median(one),
      stepSeconds: med((e) => e.step_seconds.step),
      compute: med((e) => e.step_seconds.compute),
      localReduce: inputs.localReduce,
      exchange: med((e) => e.exchange!.exchange),
      update: inputs.update,
      bytesSentPerStep: med((e) => e.exchange!.bytes_sent_per_step),
      modelStepSeconds: stepSeconds(inputs, R, batchSize, link.bytesPerSecond),
    };
    cells.push(cell);
    o.log(
      `batch ${batchSize}: ${R} ranks × ${o.workers} ${Math.round(cell.mpiSamplesPerSec)} samples/s, one process × ${R * o.workers} workers ${Math.round(cell.oneProcessSamplesPerSec)} (${(100 * cell.ratio).toFixed(0)} %)`,
    );
  }
  if (model === undefined) return undefined;
  const batches = [...new Set([...PROJECTED_BATCHES, ...o.batchSizes])].sort((a, b) => a - b);
  return { ranks: R, workers: o.workers, params, link, cells, model, projections: project(model, batches) };
}

const ms = (s: number): number => s * 1000;

const cellColumns: Column<MpiCell>[] = [
  { kind: 'number', header: 'batch', value: (c) => c.batchSize },
  { kind: 'text', header: 'ranks × workers', value: (c) => `${c.ranks} × ${c.workers}` },
  { kind: 'number', header: 'samples/s', value: (c) => c.mpiSamplesPerSec },
  { kind: 'number', header: '1 process samples/s', value: (c) => c.oneProcessSamplesPerSec },
  { kind: 'number', header: 'of 1 process', value: (c) => 100 * c.ratio, suffix: ' %' },
  { kind: 'number', header: 'step ms', value: (c) => ms(c.stepSeconds), decimals: 3 },
  { kind: 'number', header: 'model step ms', value: (c) => ms(c.modelStepSeconds), decimals: 3 },
  { kind: 'number', header: 'compute ms', value: (c) => ms(c.compute), decimals: 3 },
  { kind: 'number', header: 'local reduce ms', value: (c) => ms(c.localReduce), decimals: 3 },
  { kind: 'number', header: 'exchange ms', value: (c) => ms(c.exchange), decimals: 3 },
  { kind: 'number', header: 'update ms', value: (c) => ms(c.update), decimals: 3 },
  { kind: 'number', header: 'bytes sent/step', value: (c) => c.bytesSentPerStep },
];

/** The projection as one row per machine count, a samples/s and speedup column pair per link. */
function projectionTable(r: MpiBenchReport, batchSize: number, format: typeof formatTerminalTable): string {
  const rows = [...new Set(r.projections.map((p) => p.ranks))];
  const links = [...new Set(r.projections.map((p) => p.linkGbits))];
  const at = (ranks: number, link: number): Projection => r.projections.find((p) => p.ranks === ranks && p.linkGbits === link && p.batchSize === batchSize)!;
  const columns: Column<number>[] = [{ kind: 'number', header: 'machines', value: (n) => n }];
  for (const link of links) {
    columns.push({ kind: 'number', header: `${link} Gbit/s samples/s`, value: (n) => at(n, link).samplesPerSec });
    columns.push({ kind: 'number', header: 'speedup', value: (n) => at(n, link).speedup, decimals: 1, suffix: '×' });
  }
  return format(columns, rows);
}

function inputsText(r: MpiBenchReport): string {
  const m = r.model;
  return (
    `Model inputs, measured here: compute ${(m.computePerSample * 1e6).toFixed(2)} µs/sample per rank (${r.workers} worker${r.workers > 1 ? 's' : ''}), ` +
    `local reduce ${ms(m.localReduce).toFixed(3)} ms/step, update ${ms(m.update).toFixed(3)} ms/step with ${m.measuredRanks} ranks, ` +
    `latency ${(m.latency * 1e6).toFixed(1)} µs per message (loopback bandwidth ${(r.link.bytesPerSecond / 1e9).toFixed(2)} GB/s, used only for the check against this job), ` +
    `${r.params.toLocaleString('en-US')} parameters.`
  );
}

function report(r: MpiBenchReport, format: typeof formatTerminalTable, heading: (s: string) => string): string {
  const parts = [heading(`${r.ranks} ranks measured`), format(cellColumns, r.cells), inputsText(r)];
  for (const batchSize of [...new Set(r.projections.map((p) => p.batchSize))]) {
    parts.push(heading(`Projection, global batch ${batchSize}`), projectionTable(r, batchSize, format));
  }
  return parts.join('\n\n');
}

export function mpiBenchTables(r: MpiBenchReport): string {
  return report(r, formatTerminalTable, (s) => s);
}

export function writeMpiBenchFiles(dir: string, r: MpiBenchReport, command: string): Promise<string[]> {
  const series = r.projections
    .map((p) => `${p.linkGbits} Gbit/s, batch ${p.batchSize}`)
    .filter((name, i, all) => all.indexOf(name) === i)
    .map((name) => ({
      name,
      points: r.projections.filter((p) => `${p.linkGbits} Gbit/s, batch ${p.batchSize}` === name).map((p) => [p.ranks, p.speedup] as const),
    }));
  const ideal = { name: 'ideal', dashed: true, color: '#888888', points: [...new Set(r.projections.map((p) => p.ranks))].map((n) => [n, n] as const) };
  const png = renderLineChartPng({
    title: 'Projected speedup over one machine',
    xLabel: 'machines (one rank each)',
    yLabel: 'speedup',
    series: [...series, ideal],
    logX: true,
    width: 1000,
    height: 600,
  });
  const md = `# corefit bench --comm mpi\n\n\`${command}\`\n\n${report(r, formatMarkdownTable, (s) => `## ${s}`)}\n`;
  return writeReportFiles(dir, { 'scaleout.md': md, 'scaleout.json': JSON.stringify(r, null, 2), 'scaleout.png': png });
}
