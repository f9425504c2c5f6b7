/**
 * The small training run that the reliability suites interrupt, break and resume
 * (3 epochs of 60 steps, a checkpoint every 7 steps), and the uninterrupted run
 * whose weights they must end with, bit for bit. What they test hangs on steps and
 * checkpoints, not on rows: the first 1,200 MNIST images in batches of 20 (10 rows a
 * worker) keep each run quick, and a data folder that small loads in a moment.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';
import { jsonLines, runCli } from './cli.js';
import { writeMnistSubset } from './small-data.js';

export const STEPS_PER_EPOCH = 60;
export const TOTAL_STEPS = 3 * STEPS_PER_EPOCH;

let dataDir: string | undefined;

/** Call at the top of a suite that trains the small run, after freshDirs: writes its data before the suite's tests run. */
export function useSmallRunData(freshDir: () => string): void {
  beforeAll(async () => {
    dataDir = await writeMnistSubset(freshDir(), { train: 20 * STEPS_PER_EPOCH, test: 200 });
  });
}

function data(): string {
  if (dataDir === undefined) throw new Error('call useSmallRunData() at the top of the suite');
  return dataDir;
}

/** The flags of the small run (without --out). */
export function smallRun(): string[] {
  return ['--data', data(), '--batch-size', '20', '--epochs', '3', '--checkpoint-every', '7', '--workers', '2'];
}

/** What continues the small run from a checkpoint: the flags a checkpoint does not keep, in the order corefit's resume command names them. */
export function resumeFlags(): string[] {
  return ['--epochs', '3', '--workers', '2', '--data', data(), '--checkpoint-every', '7'];
}

export function weightsOf(dir: string): Promise<Buffer> {
  return readFile(join(dir, 'weights.bin'));
}

/** Trains the small run without interruption into `dir`; returns its --json lines and weights. */
export async function uninterruptedRun(dir: string): Promise<{ lines: Array<Record<string, unknown>>; weights: Buffer }> {
  const run = await runCli(['train', ...smallRun(), '--out', dir, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return { lines: jsonLines(run.stdout), weights: await weightsOf(dir) };
}

/** Continues the small run from the checkpoint in `dir` to its end. */
export async function resumeToEnd(dir: string): Promise<void> {
  const run = await runCli(['train', '--resume', dir, '--out', dir, ...resumeFlags(), '--json']);
  expect(run.code, run.stderr).toBe(0);
  expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'completed', step: TOTAL_STEPS });
}
