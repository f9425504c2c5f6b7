/**
 * Faults during training, through the CLI as a user meets them: a worker that throws,
 * exits or runs out of memory, and weights or a loss that stop being finite. Each
 * gives a clear error and its exit code, the process ends by itself (no hang, no thread
 * left holding it open), and the last checkpoint stays intact: resuming from it ends
 * with the weights of an uninterrupted run, bit for bit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { CheckpointError, EXIT_CODES } from '../src/errors.js';
import { WORKER_HEAP_MB } from '../src/parallel/pool.js';
import { STACK_FRAME, runCli } from './helpers/cli.js';
import { resumeToEnd, smallRun, uninterruptedRun, useSmallRunData, weightsOf } from './helpers/small-run.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-faults-');
useSmallRunData(freshDir);
let reference: Buffer;

beforeAll(async () => {
  reference = (await uninterruptedRun(freshDir())).weights;
});

/** Step 20 fails; with a checkpoint every 7 steps, the last one written before it is at step 14. */
const FAULT_STEP = 20;
const LAST_GOOD = 14;

async function expectIntactAndResumable(dir: string): Promise<void> {
  const kept = await readCheckpoint(dir);
  expect(kept.state.run.progress.step).toBe(LAST_GOOD);
  expect(kept.params.every(Number.isFinite)).toBe(true);
  await resumeToEnd(dir);
  expect((await weightsOf(dir)).equals(reference)).toBe(true);
}

describe('a failing worker', () => {
  it.each([
    ['throws', `1:${FAULT_STEP}:throw`, `worker 1 failed at step ${FAULT_STEP}: injected fault at step ${FAULT_STEP}`],
    ['exits', `0:${FAULT_STEP}:exit`, `worker 0 failed at step ${FAULT_STEP}: worker exited with code: 3`],
    ['runs out of memory', `1:${FAULT_STEP}:oom`, `worker 1 failed at step ${FAULT_STEP}: ran out of memory: it reached the ${WORKER_HEAP_MB} MB heap limit`],
  ])('that %s stops the run with exit code 70, by itself, and the last checkpoint resumes bit for bit', async (_, fault, message) => {
    const dir = freshDir();
    const run = await runCli(['train', ...smallRun(), '--out', dir], { COREFIT_TEST_FAULT: fault });
    // Ending by itself is the proof that no thread was left running: a live worker would keep the process open.
    expect(run.timedOut).toBe(false);
    expect(run.code, run.stderr).toBe(EXIT_CODES.WORKER);
    expect(run.stderr).toContain(`corefit: error: ${message}`);
    expect(run.stderr).toContain('The last complete checkpoint (if --out was given) is intact');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    await expectIntactAndResumable(dir);
  });
});

describe('numerical faults', () => {
  it('a NaN weight stops the run at its step with exit code 75, naming the fix and the checkpoint kept', async () => {
    const dir = freshDir();
    const run = await runCli(['train', ...smallRun(), '--out', dir], { COREFIT_TEST_FAULT: `0:${FAULT_STEP}:nan` });
    expect(run.code, run.stderr).toBe(EXIT_CODES.DIVERGED);
    // Whether the loss or its gradient turns non-finite first is the engine's arithmetic.
    expect(run.stderr).toMatch(new RegExp(`corefit: error: training diverged at step ${FAULT_STEP}: the (loss|gradient) is not finite`));
    expect(run.stderr).toContain(
      `Lower --lr, add --warmup-epochs, or set --clip-norm, in a new run; the last good checkpoint (step ${LAST_GOOD}) is kept in ${dir}.`,
    );
    expect(run.stderr).not.toMatch(STACK_FRAME);
    await expectIntactAndResumable(dir);
  });

  it.each([
    // Adam's steps are about lr in size: the weights after step 1 overflow the next forward pass
    // (whether the loss or its gradient turns non-finite first is the engine's arithmetic).
    ['1e10', '7', /training diverged at step 2: the (loss|gradient) is not finite/],
    // lr itself is infinite in float32: step 1 turns the weights infinite, and no checkpoint may hold them.
    ['1e39', '1', /training diverged at step 1: a weight is not finite/],
  ])('--lr %s (--checkpoint-every %s) diverges with exit code 75 before any checkpoint, and says so', async (lr, every, message) => {
    const dir = freshDir();
    const run = await runCli(['train', ...smallRun(), '--lr', lr, '--checkpoint-every', every, '--out', dir]);
    expect(run.code, run.stderr).toBe(EXIT_CODES.DIVERGED);
    expect(run.stderr).toMatch(new RegExp(`corefit: error: ${message.source}`));
    expect(run.stderr).toContain('no checkpoint was written before it');
    expect(run.stderr).not.toMatch(STACK_FRAME);
    await expect(readCheckpoint(dir)).rejects.toBeInstanceOf(CheckpointError);
  });
});
