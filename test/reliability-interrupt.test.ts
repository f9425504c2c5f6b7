/**
 * Interruptions lose no finished work. SIGINT and SIGTERM finish the step, write a
 * checkpoint and say how to continue; kill -9 at random moments always leaves a
 * loadable checkpoint; and every way of continuing ends with the weights of an
 * uninterrupted run, bit for bit.
 */
import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { Rng } from '../src/rng.js';
import { STACK_FRAME, jsonLines, runCli, startCli } from './helpers/cli.js';
import { RESUME_FLAGS, SMALL_RUN, STEPS_PER_EPOCH, TOTAL_STEPS, resumeToEnd, uninterruptedRun, weightsOf } from './helpers/small-run.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-interrupt-');
let referenceDir: string;
let reference: Awaited<ReturnType<typeof uninterruptedRun>>;

beforeAll(async () => {
  referenceDir = freshDir();
  reference = await uninterruptedRun(referenceDir);
});

describe('--checkpoint-every', () => {
  it('checkpoints after every 7th step and at the end of every epoch', () => {
    const steps = reference.lines.filter((l) => l.type === 'checkpoint').map((l) => l.step);
    const every7 = Array.from({ length: Math.floor(TOTAL_STEPS / 7) }, (_, i) => 7 * (i + 1));
    const epochEnds = [1, 2, 3].map((e) => e * STEPS_PER_EPOCH);
    expect(steps).toEqual([...every7, ...epochEnds].sort((a, b) => a - b));
  });
});

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s during training', (signal, code) => {
  it(`finishes the step, checkpoints, exits ${code} with a resume command that ends bit for bit`, async () => {
    const dir = freshDir();
    const cli = startCli(['train', ...SMALL_RUN, '--out', dir, '--json']);
    expect(await cli.line((l) => l.type === 'checkpoint')).toBeDefined();
    cli.child.kill(signal);
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(code);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr).toContain(`corefit: ${signal}: finishing the current step and writing a checkpoint`);

    const lines = jsonLines(run.stdout);
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({ type: 'summary', status: 'stopped' });
    const step = summary.step as number;
    expect(step).toBeGreaterThanOrEqual(7);
    expect(step).toBeLessThan(TOTAL_STEPS);
    expect(lines.filter((l) => l.type === 'checkpoint').at(-1)).toMatchObject({ step });
    expect((await readCheckpoint(dir)).state.run.progress.step).toBe(step);

    const command = new RegExp(`stopped by ${signal} at step ${step}: checkpoint written to ${dir}; continue with: corefit (.*)$`, 'm').exec(run.stderr);
    expect(command, run.stderr).not.toBeNull();
    expect(command![1]).toBe(`train --resume ${dir} --out ${dir} ${RESUME_FLAGS.join(' ')}`);
    const resumed = await runCli([...command![1].split(' '), '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ status: 'completed', step: TOTAL_STEPS });
    expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
  });
});

describe('SIGINT without --out', () => {
  it('stops after the step in progress with exit code 130, saying that nothing was saved', async () => {
    const cli = startCli(['train', ...SMALL_RUN.slice(0, SMALL_RUN.indexOf('--checkpoint-every')), '--json']);
    expect(await cli.line((l) => l.type === 'start')).toBeDefined();
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/stopped by SIGINT at step \d+: nothing was saved \(no --out was given\)/);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'stopped' });
  });
});

describe('a second signal', () => {
  it('quits at once and still leaves a checkpoint that resumes bit for bit', async () => {
    const dir = freshDir();
    const cli = startCli(['train', ...SMALL_RUN, '--out', dir, '--json']);
    expect(await cli.line((l) => l.type === 'checkpoint')).toBeDefined();
    // Two signals so close together may reach the process as one: either way the exit code and the checkpoint hold.
    cli.child.kill('SIGINT');
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(130);
    expect((await readCheckpoint(dir)).state.run.progress.step).toBeGreaterThanOrEqual(7);
    await resumeToEnd(dir);
    expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
  });
});

describe('resuming a finished run', () => {
  it('into its own --out clears what an interrupted write left; from elsewhere it only reads', async () => {
    // An uncommitted pending set beside a finished checkpoint: a write killed before its first rename.
    const [own, other] = [freshDir(), freshDir()];
    await cp(referenceDir, own, { recursive: true });
    await writeFile(join(own, 'model.json.tmp'), '{"interrupted"');
    await writeFile(join(own, 'weights.bin.tmp'), Buffer.alloc(12));
    const elsewhere = await runCli(['train', '--resume', own, '--out', other, ...RESUME_FLAGS, '--json']);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect((await readdir(own)).filter((f) => f.endsWith('.tmp')).sort()).toEqual(['model.json.tmp', 'weights.bin.tmp']);

    const run = await runCli(['train', '--resume', own, '--out', own, ...RESUME_FLAGS, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'completed', step: TOTAL_STEPS });
    expect((await readdir(own)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await weightsOf(own)).equals(reference.weights)).toBe(true);
  });
});

describe('kill -9', () => {
  const KILLS = 20;
  /** A run that ends by itself (its kill came too late) completes its chain; this bounds them. */
  const MAX_RUNS = 60;

  it(`at ${KILLS} random moments leaves a loadable checkpoint every time, and resuming ends bit for bit`, { timeout: 600_000 }, async () => {
    const rng = Rng.fromSeed(20240229);
    // About the time from one checkpoint to the next here: a random point within two of these after a
    // run's start or first checkpoint can be mid-step, mid-write or mid-evaluation, and the kills advance
    // training by a few checkpoints each, so that it is mostly still going when the last one comes.
    const checkpoints = reference.lines.filter((l) => l.type === 'checkpoint').length;
    const intervalMs = ((reference.lines.at(-1)!.seconds as number) * 1000) / checkpoints;
    let dir = freshDir();
    let chains = 1;
    let kills = 0;
    let killedInTraining = 0;
    let runs = 0;
    let lastStep: number | undefined;
    let loaded = 0;
    while (kills < KILLS) {
      runs++;
      expect(runs, `${kills} kills in ${runs - 1} runs`).toBeLessThanOrEqual(MAX_RUNS);
      // Every checkpoint a killed run left must load, and none may be older than one loaded before.
      const kept = await readCheckpoint(dir).catch((error: unknown) => error as Error);
      if (kept instanceof Error) {
        expect(lastStep, `no checkpoint loads after one did: ${kept.message}`).toBeUndefined();
      } else {
        expect(kept.state.run.progress.step).toBeGreaterThanOrEqual(lastStep ?? 0);
        if (kept.state.run.progress.step !== lastStep) loaded++;
        lastStep = kept.state.run.progress.step;
      }
      // Training ran to its end between kills: check that chain, and start another.
      if (lastStep === TOTAL_STEPS) {
        expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
        dir = freshDir();
        chains++;
        lastStep = undefined;
      }
      const cli = startCli(lastStep === undefined ? ['train', ...SMALL_RUN, '--out', dir, '--json'] : ['train', '--resume', dir, '--out', dir, ...RESUME_FLAGS, '--json']);
      // A quarter of the kills fall within start-up (loading, spawning workers), the rest within training.
      const inTraining = rng.nextFloat() >= 0.25;
      const started = cli.line((l) => l.type === 'start');
      if (inTraining) {
        await (rng.nextFloat() < 0.5 ? started : cli.line((l) => l.type === 'checkpoint'));
        await sleep(rng.nextFloat() * 2 * intervalMs);
      } else {
        await Promise.race([started, sleep(rng.nextFloat() * 2500)]);
      }
      cli.child.kill('SIGKILL');
      const run = await cli.done;
      if (run.signal === 'SIGKILL') {
        kills++;
        if (inTraining) killedInTraining++;
      } else {
        expect(run.code, run.stderr).toBe(0);
      }
    }
    await resumeToEnd(dir);
    expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
    console.info(
      `kill -9: ${kills} kills (${killedInTraining} after training started) in ${runs} runs and ${chains} chain(s) of resumes; ${loaded} checkpoints loaded between kills`,
    );
  });
});
