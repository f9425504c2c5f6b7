/**
 * The batch-scaling study: what a bigger batch costs in test quality after a fixed
 * number of epochs, and how much of it the linear learning-rate scaling rule, alone
 * and with gradual warmup (Goyal et al. 2017), wins back.
 */
import { loadDataset, type Dataset } from '../data/dataset.js';
import { DivergenceError } from '../errors.js';
import type { EngineChoice } from '../engine/engine.js';
import type { ModelSpec } from '../model/spec.js';
import type { LrScaling } from '../optim/schedule.js';
import { formatMarkdownTable, type Column } from '../report/table.js';
import { writeReportFiles } from '../report/write-files.js';
import type { EpochEvent, StartEvent } from '../train/events.js';
import { train } from '../train/train.js';
import { describeMachine, machineSummary, type Machine } from '../machine.js';

export const STUDY_BATCH_SIZES: readonly number[] = [100, 400, 1600, 6400];
/** The seed question's batch: the lr of the spec is meant for it. */
const STUDY_BASE_BATCH = 100;
const STUDY_EPOCHS = 5;
/**
 * One of the five epochs. Goyal et al. warm up over 5 of 90 epochs (6 %), but 6 % of
 * 50 updates at batch 6400 is a ramp of 3 steps; one epoch makes it 10, and still
 * leaves 80 % of the run at the scaled lr.
 */
const STUDY_WARMUP_EPOCHS = 1;

interface LrRule {
  readonly name: string;
  readonly scaling: LrScaling;
  readonly warmupEpochs: number;
}

const RULES: readonly LrRule[] = [
  { name: 'none', scaling: 'none', warmupEpochs: 0 },
  { name: 'linear', scaling: 'linear', warmupEpochs: 0 },
  { name: 'linear + warmup', scaling: 'linear', warmupEpochs: STUDY_WARMUP_EPOCHS },
];

export interface StudyRun {
  readonly batchSize: number;
  readonly rule: string;
  readonly peakLr: number;
  readonly warmupSteps: number;
  /** Updates the run made. */
  readonly steps: number;
  /** Final test loss; null when the run diverged. */
  readonly testLoss: number | null;
  readonly floor: number | null;
  /** Test loss − floor, the floor being that of the test targets (as `corefit eval` reports it). */
  readonly excess: number | null;
  /** Training, the test evaluation after each epoch and closing the pool; not the start-up (data loading, engines). */
  readonly seconds: number;
  /** The step at which training diverged. */
  readonly divergedAt?: number;
}

export interface BatchScalingReport {
  readonly format: 'corefit-batch-scaling';
  readonly version: 1;
  readonly created: string;
  readonly model: string;
  readonly machine: Machine;
  readonly epochs: number;
  readonly baseBatchSize: number;
  readonly warmupEpochs: number;
  readonly trainRows: number | null;
  readonly runs: readonly StudyRun[];
}

export interface BatchScalingOptions {
  readonly spec: ModelSpec;
  readonly data?: string;
  readonly engine: EngineChoice;
  readonly batchSizes: readonly number[];
  /** Defaults: the study's 5 epochs on all training rows; smaller for tests. */
  readonly epochs?: number;
  readonly trainRows?: number;
  readonly testRows?: number;
  readonly log: (line: string) => void;
}

/** One run of the study; the engine it used comes with it. */
async function studyRun(
  o: BatchScalingOptions,
  dataset: Dataset,
  batchSize: number,
  rule: LrRule,
  epochs: number,
): Promise<{ run: StudyRun; start: StartEvent }> {
  let start: StartEvent | undefined;
  let startedAt = 0;
  let last: EpochEvent | undefined;
  let divergedAt: number | undefined;
  try {
    await train({
      spec: o.spec,
      dataset,
      engine: o.engine,
      epochs,
      batchSize,
      trainRows: o.trainRows,
      testRows: o.testRows,
      baseBatchSize: STUDY_BASE_BATCH,
      lrScaling: rule.scaling,
      warmupEpochs: rule.warmupEpochs,
      onEvent: (e) => {
        if (e.type === 'start') [start, startedAt] = [e, performance.now()];
        if (e.type === 'epoch') last = e;
      },
    });
  } catch (err) {
    // A diverged run is a result of the study, not a failure of it.
    if (!(err instanceof DivergenceError) || start === undefined) throw err;
    divergedAt = err.step;
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const schedule = start!.lr_schedule;
  const done = divergedAt === undefined ? last! : undefined;
  const run: StudyRun = {
    batchSize,
    rule: rule.name,
    peakLr: schedule.peakLr,
    warmupSteps: schedule.warmupSteps,
    steps: divergedAt ?? last!.step,
    testLoss: done?.test_loss ?? null,
    floor: done?.test_bce_floor ?? null,
    excess: done?.test_excess ?? null,
    seconds,
    divergedAt,
  };
  return { run, start: start! };
}

/** Trains every batch size under every lr rule, one run after another, on all cores. */
export async function runBatchScalingStudy(o: BatchScalingOptions): Promise<BatchScalingReport> {
  const epochs = o.epochs ?? STUDY_EPOCHS;
  const dataset = await loadDataset({ dir: o.data, normalize: o.spec.normalize });
  const runs: StudyRun[] = [];
  let engine = { engine: '', backend: '' };
  const total = o.batchSizes.length * RULES.length;
  for (const batchSize of o.batchSizes) {
    for (const rule of RULES) {
      o.log(`[${runs.length + 1}/${total}] batch ${batchSize}, lr scaling ${rule.name}: ${epochs} epochs`);
      const { run, start } = await studyRun(o, dataset, batchSize, rule, epochs);
      engine = start;
      runs.push(run);
      o.log(run.testLoss === null ? `  diverged at step ${run.divergedAt}` : `  test loss ${run.testLoss.toFixed(4)} in ${run.seconds.toFixed(1)} s`);
    }
  }
  return {
    format: 'corefit-batch-scaling',
    version: 1,
    created: new Date().toISOString(),
    model: o.spec.name,
    machine: describeMachine(engine.engine, engine.backend),
    epochs,
    baseBatchSize: STUDY_BASE_BATCH,
    warmupEpochs: STUDY_WARMUP_EPOCHS,
    trainRows: o.trainRows ?? null,
    runs,
  };
}

const COLUMNS: readonly Column<StudyRun>[] = [
  { kind: 'number', header: 'batch', value: (r) => r.batchSize },
  { kind: 'text', header: 'lr scaling', value: (r) => r.rule },
  { kind: 'number', header: 'peak lr', value: (r) => r.peakLr, decimals: 4 },
  { kind: 'number', header: 'warmup steps', value: (r) => r.warmupSteps },
  { kind: 'number', header: 'steps', value: (r) => r.steps },
  { kind: 'number', header: 'test BCE', value: (r) => r.testLoss ?? undefined, decimals: 4 },
  { kind: 'number', header: 'excess', value: (r) => r.excess ?? undefined, decimals: 4 },
  { kind: 'number', header: 'wall s', value: (r) => r.seconds, decimals: 1 },
  { kind: 'text', header: 'note', value: (r) => (r.divergedAt === undefined ? '' : `diverged at step ${r.divergedAt}`) },
];

/** The study as a Markdown table; the note column only when a run diverged. */
export function batchScalingTable(r: BatchScalingReport): string {
  const columns = r.runs.some((run) => run.divergedAt !== undefined) ? COLUMNS : COLUMNS.slice(0, -1);
  return formatMarkdownTable(columns, r.runs);
}

export function batchScalingMarkdown(r: BatchScalingReport, command: string): string {
  const floor = r.runs.find((run) => run.floor !== null)?.floor ?? null;
  return (
    [
      `# corefit batch-scaling study: ${r.model}`,
      `Machine: ${machineSummary(r.machine)}.`,
      `Command: \`${command}\` (${r.created}). ${r.epochs} epochs per run${r.trainRows === null ? '' : ` on ${r.trainRows} training rows`}, all cores; ` +
        `lr scaled from the spec's lr at batch ${r.baseBatchSize}; warmup ${r.warmupEpochs} epoch(s) from that lr to the scaled one. ` +
        `Excess = final test BCE − the BCE floor of the test images${floor === null ? '' : ` (${floor.toFixed(4)})`}. ` +
        'Wall seconds cover training and the test evaluation after each epoch, not the start-up.',
      batchScalingTable(r),
    ].join('\n\n') + '\n'
  );
}

/** Writes batch-scaling.md and batch-scaling.json; returns the paths written. */
export function writeBatchScalingFiles(dir: string, r: BatchScalingReport, command: string): Promise<string[]> {
  return writeReportFiles(dir, { 'batch-scaling.md': batchScalingMarkdown(r, command), 'batch-scaling.json': JSON.stringify(r, null, 2) + '\n' });
}
