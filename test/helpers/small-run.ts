/**
 * The small training run that the reliability suites interrupt, break and resume
 * (3 epochs of 60 steps, a checkpoint every 7 steps), and the uninterrupted run
 * whose weights they must end with, bit for bit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { jsonLines, runCli } from './cli.js';

export const SMALL_RUN = ['--train-rows', '6000', '--test-rows', '1000', '--batch-size', '100', '--epochs', '3', '--checkpoint-every', '7', '--workers', '2'];
/** What continues SMALL_RUN from a checkpoint: the flags a checkpoint does not keep. */
export const RESUME_FLAGS = ['--epochs', '3', '--workers', '2', '--checkpoint-every', '7'];
export const STEPS_PER_EPOCH = 60;
export const TOTAL_STEPS = 3 * STEPS_PER_EPOCH;

export function weightsOf(dir: string): Promise<Buffer> {
  return readFile(join(dir, 'weights.bin'));
}

/** Trains SMALL_RUN without interruption into `dir`; returns its --json lines and weights. */
export async function uninterruptedRun(dir: string): Promise<{ lines: Array<Record<string, unknown>>; weights: Buffer }> {
  const run = await runCli(['train', ...SMALL_RUN, '--out', dir, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return { lines: jsonLines(run.stdout), weights: await weightsOf(dir) };
}

/** Continues SMALL_RUN from the checkpoint in `dir` to its end. */
export async function resumeToEnd(dir: string): Promise<void> {
  const run = await runCli(['train', '--resume', dir, '--out', dir, ...RESUME_FLAGS, '--json']);
  expect(run.code, run.stderr).toBe(0);
  expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'completed', step: TOTAL_STEPS });
}
