/**
 * Interruptions lose no finished work. SIGINT and SIGTERM finish the step, write a
 * checkpoint and say how to continue; kill -9 at each kind of moment leaves the
 * checkpoint it should; and every way of continuing ends with the weights of an
 * uninterrupted run, bit for bit.
 */
import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { STACK_FRAME, jsonLines, runCli, startCli } from './helpers/cli.js';
import { STEPS_PER_EPOCH, TOTAL_STEPS, resumeFlags, resumeToEnd, smallRun, uninterruptedRun, useSmallRunData, weightsOf } from './helpers/small-run.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-interrupt-');
useSmallRunData(freshDir);
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
    const cli = startCli(['train', ...smallRun(), '--out', dir, '--json']);
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
    expect(command![1]).toBe(`train --resume ${dir} --out ${dir} ${resumeFlags().join(' ')}`);
    const resumed = await runCli([...command![1].split(' '), '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonLines(resumed.stdout).at(-1)).toMatchObject({ status: 'completed', step: TOTAL_STEPS });
    expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
  });
});

describe('SIGINT without --out', () => {
  it('stops after the step in progress with exit code 130, saying that nothing was saved', async () => {
    // Without --out it takes no --checkpoint-every; and more epochs than it can finish before the signal.
    const flags = smallRun();
    flags.splice(flags.indexOf('--checkpoint-every'), 2);
    flags[flags.indexOf('--epochs') + 1] = '50';
    const cli = startCli(['train', ...flags, '--json']);
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
    const cli = startCli(['train', ...smallRun(), '--out', dir, '--json']);
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
    const elsewhere = await runCli(['train', '--resume', own, '--out', other, ...resumeFlags(), '--json']);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect((await readdir(own)).filter((f) => f.endsWith('.tmp')).sort()).toEqual(['model.json.tmp', 'weights.bin.tmp']);

    const run = await runCli(['train', '--resume', own, '--out', own, ...resumeFlags(), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'completed', step: TOTAL_STEPS });
    expect((await readdir(own)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await weightsOf(own)).equals(reference.weights)).toBe(true);
  });
});

describe('kill -9', () => {
  /**
   * One chain of runs into one --out, each killed at a chosen moment through the fault
   * switch and continued by the next, until a last run ends it. The moments cover each
   * kind a kill can meet: start-up, a step before the first checkpoint, a step between two
   * checkpoints, each phase of a checkpoint write (pending files half written, all written,
   * the first rename done, all renamed), the last step of an epoch (around evaluation and
   * the pictures) and the first of the next. `kept` is the step of the checkpoint that must
   * load afterwards (undefined: none yet). Every checkpoint write's single moments are
   * crashed in-process too (test/checkpoint.test.ts).
   */
  const KILLS: ReadonlyArray<{ readonly what: string; readonly fault?: string; readonly kept: number | undefined }> = [
    { what: 'at start-up', kept: undefined },
    { what: 'at step 3, before the first checkpoint', fault: '1:3:kill', kept: undefined },
    { what: 'at step 11, between two checkpoints', fault: '0:11:kill', kept: 7 },
    { what: 'after 2 of the pending files of checkpoint 14', fault: 'write:14:2', kept: 7 },
    { what: 'after all pending files of checkpoint 14, before the directory flush', fault: 'write:14:3', kept: 7 },
    { what: 'after the first rename of checkpoint 14', fault: 'write:14:5', kept: 14 },
    { what: 'at step 60, the last of epoch 1', fault: '1:60:kill', kept: 56 },
    { what: 'after all renames of the checkpoint at the end of epoch 1, before the pictures', fault: 'write:60:7', kept: 60 },
    { what: 'at step 61, after the evaluation and pictures of epoch 1', fault: '0:61:kill', kept: 60 },
    { what: "after the flush of checkpoint 126's pending files, before any rename", fault: 'write:126:4', kept: 120 },
    { what: 'after two of the three renames of checkpoint 133', fault: 'write:133:6', kept: 133 },
    { what: 'at step 180, the very last', fault: '0:180:kill', kept: 175 },
  ];

  it(`at ${KILLS.length} chosen moments leaves the checkpoint it should every time, and resuming ends bit for bit`, { timeout: 600_000 }, async () => {
    const dir = freshDir();
    for (const kill of KILLS) {
      const resume = (await readCheckpoint(dir).catch(() => undefined)) !== undefined;
      const cli = startCli(resume ? ['train', '--resume', dir, '--out', dir, ...resumeFlags(), '--json'] : ['train', ...smallRun(), '--out', dir, '--json'], {
        COREFIT_TEST_FAULT: kill.fault ?? '',
      });
      if (kill.fault === undefined) cli.child.kill('SIGKILL');
      const run = await cli.done;
      expect(run.signal, `${kill.what}: ${run.stderr}`).toBe('SIGKILL');
      const kept = await readCheckpoint(dir).catch((error: unknown) => error as Error);
      if (kill.kept === undefined) expect(kept, kill.what).toBeInstanceOf(Error);
      else expect(kept instanceof Error ? kept.message : kept.state.run.progress.step, kill.what).toBe(kill.kept);
    }
    await resumeToEnd(dir);
    expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
  });
});

describe('stdout closed by its reader (corefit train --json | head -1)', () => {
  it('finishes the step, checkpoints, exits 141, and the resume command ends bit for bit', async () => {
    const dir = freshDir();
    const cli = startCli(['train', ...smallRun(), '--out', dir, '--json']);
    expect(await cli.line((l) => l.type === 'start')).toBeDefined();
    cli.child.stdout!.destroy();
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(141);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr).toContain('corefit: stdout closed (EPIPE): finishing the current step and writing a checkpoint');
    const command = /stopped by a closed stdout at step (\d+): checkpoint written to .*; continue with: corefit (.*)$/m.exec(run.stderr);
    expect(command, run.stderr).not.toBeNull();
    const step = Number(command![1]);
    expect(step).toBeLessThan(TOTAL_STEPS);
    expect((await readCheckpoint(dir)).state.run.progress.step).toBe(step);
    const resumed = await runCli([...command![2].split(' '), '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await weightsOf(dir)).equals(reference.weights)).toBe(true);
  });
});
