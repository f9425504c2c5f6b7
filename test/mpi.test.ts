/**
 * `corefit train --comm mpi` under mpirun on this machine (loopback, more ranks than
 * cores): the same weights for any split of a shard count into ranks × workers, resume
 * across rank counts, and how a job ends when a rank dies, hangs, throws or differs.
 * Skipped, saying why, where MPI or corefit's MPI transport is missing. The jobs train a
 * few steps on a small data set: most of their time is start-up. The tests run side by
 * side, but their jobs two at a time (inTurn): more, on 2 cores, only wait for each other.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { exchangeLayout } from '../src/parallel/mpi/layout.js';
import { jsonLines, runCli, type CliProcess, type CliRun } from './helpers/cli.js';
import { mpiMissing as missing, startMpirun, type Ranks } from './helpers/mpirun.js';
import { writeSmallDataSet } from './helpers/small-data.js';
import { freshDirs } from './helpers/temp-dirs.js';

const LANES = 2;
let running = 0;
const waiting: Array<() => void> = [];

/** Runs `job` once fewer than LANES jobs of this file are running; a finished job hands its lane to the next. */
async function inTurn<T>(job: () => Promise<T>): Promise<T> {
  if (running < LANES) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await job();
  } finally {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next();
  }
}

/** The lines of a ranks' exit file (test/helpers/mpirun.ts) once it holds `count`, waiting up to 30 s for them. */
async function rankExits(file: string, count: number): Promise<string[]> {
  const end = Date.now() + 30_000;
  for (;;) {
    const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    if (lines.length >= count || Date.now() > end) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** runCli, in turn. */
const cli = (args: readonly string[]): Promise<CliRun> => inTurn(() => runCli(args));

/** mpirun on loopback, as root and with more ranks than cores, of `corefit train --comm mpi` per program, in turn; killed (timedOut) after limitMs. */
function mpirun(programs: readonly Ranks[], limitMs = 100_000): Promise<CliRun> {
  return inTurn(() => startMpirun(programs, limitMs).done);
}

const weights = (dir: string): Promise<Buffer> => readFile(join(dir, 'weights.bin'));

// A test's time includes its jobs' wait for a lane (inTurn); each job has its own limit (mpirun's limitMs, runCli's).
describe.skipIf(missing !== undefined).concurrent(`train --comm mpi${missing === undefined ? '' : ` (skipped: ${missing})`}`, { timeout: 300_000 }, () => {
  const dir = freshDirs('corefit-mpi-');
  // 400 training rows in batches of 100: 4 steps per epoch.
  let data: string[] = [];
  let small: string[] = [];
  beforeAll(async () => {
    // A checkpoint does not keep where its data came from: a resume names it again.
    data = ['--data', await writeSmallDataSet(dir(), { train: 400, test: 100 })];
    small = [...data, '--batch-size', '100'];
  });

  // The reference of the 2-shard tests: one process, 2 workers, 2 epochs (8 steps), written once.
  let reference: Promise<string> | undefined;
  const uninterrupted = (): Promise<string> =>
    (reference ??= (async () => {
      const out = dir();
      const run = await cli(['train', ...small, '--epochs', '2', '--workers', '2', '--out', out]);
      expect(run.code, run.stderr).toBe(0);
      return out;
    })());

  it('gives the weights and Adam moments of one process for 2 shards: 2 ranks × 1 worker = 1 process × 2 workers', async () => {
    const out = dir();
    const ranks = await mpirun([{ np: 2, args: [...small, '--epochs', '2', '--workers', '1', '--out', out] }]);
    expect(ranks.code, ranks.stderr).toBe(0);
    expect(ranks.stdout.match(/^epoch \d/gm)).toEqual(['epoch 1', 'epoch 2']); // rank 0 alone reports
    const one = await uninterrupted();
    expect((await weights(out)).equals(await weights(one))).toBe(true);
    // Rank 0 gathered the moments that each rank kept for its own blocks.
    const [ca, cb] = [await readCheckpoint(out), await readCheckpoint(one)];
    expect(Buffer.from(ca.state.m.buffer).equals(Buffer.from(cb.state.m.buffer))).toBe(true);
    expect(Buffer.from(ca.state.v.buffer).equals(Buffer.from(cb.state.v.buffer))).toBe(true);
  });

  it('gives the same weights for 4 shards as 4 ranks × 1, 2 ranks × 2 and 1 process × 4 (clipping on); a rank sends the same bytes whatever its workers', async () => {
    const [r4, r2, one] = [dir(), dir(), dir()];
    // A threshold below the gradient's norm, so that clipping scales every step.
    const run = [...small, '--epochs', '1', '--clip-norm', '0.01', '--json'];
    const four = await mpirun([{ np: 4, args: [...run, '--workers', '1', '--out', r4] }]);
    const two = await mpirun([{ np: 2, args: [...run, '--workers', '2', '--out', r2] }]);
    const single = await cli(['train', ...run, '--workers', '4', '--out', one]);
    for (const job of [four, two, single]) expect(job.code, job.stderr).toBe(0);
    const expected = await weights(one);
    expect((await weights(r4)).equals(expected)).toBe(true);
    expect((await weights(r2)).equals(expected)).toBe(true);
    // Rank 0 sends the others their blocks of its partial, and its own updated block (and a flag) to each of them.
    const size = paramLayout(DEFAULT_SPEC).size;
    for (const [job, ranks] of [
      [four, 4],
      [two, 2],
    ] as const) {
      const own = exchangeLayout(size, 4, ranks, 0).counts[0];
      const epoch = jsonLines(job.stdout).find((l) => l.type === 'epoch') as { exchange: { bytes_sent_per_step: number } };
      expect(epoch.exchange.bytes_sent_per_step).toBe((size - own) * 4 + (own + 1) * 4 * (ranks - 1));
    }
  });

  it('resumes a one-process checkpoint with 2 ranks, bit for bit', async () => {
    const out = dir();
    const first = await cli(['train', ...small, '--epochs', '1', '--workers', '2', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const second = await mpirun([{ np: 2, args: [...data, '--resume', out, '--out', out, '--epochs', '2', '--workers', '1'] }]);
    expect(second.code, second.stderr).toBe(0);
    expect((await weights(out)).equals(await weights(await uninterrupted()))).toBe(true);
  });

  it('ends the job when a rank is killed, keeps the last checkpoint, and resumes it in one process without mpirun, bit for bit', async () => {
    const out = dir();
    const run = [...small, '--epochs', '2', '--workers', '1', '--checkpoint-every', '2', '--out', out];
    // Rank 1 kills itself (SIGKILL) at the start of step 7, after the checkpoint of step 6.
    const job = await mpirun([
      { np: 1, args: run },
      { np: 1, args: run, env: { COREFIT_TEST_FAULT: '0:7:kill' } },
    ]);
    expect(job.timedOut).toBe(false);
    expect(job.code).not.toBe(0);
    expect(job.stderr).toMatch(/process rank 1 .* on node \S+ exited on signal 9/);
    expect((await readCheckpoint(out)).state.run.progress.step).toBe(6);
    const resumed = await cli(['train', ...data, '--resume', out, '--out', out, '--epochs', '2', '--workers', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await weights(out)).equals(await weights(await uninterrupted()))).toBe(true);
  });

  // mpirun (Open MPI 4.1) answers Ctrl-C with SIGCONT to every rank at once, SIGTERM after its kill timeout and
  // SIGKILL as long again after that, and exits 1 then whatever its ranks did; meanwhile it forwards no output.
  // A rank killed by mpirun leaves no exit line, and the job no stopped line. A stopped rank ignores the SIGTERM, so
  // with a kill timeout of 4 s the ranks have 8 s before the SIGKILL (they need well under 1 s here). The ranks'
  // exits go to a file, so the checks of the checkpoint run while mpirun still sleeps out its kill timeouts.
  const stops: ReadonlyArray<{ what: string; stop: (job: CliProcess) => void; readsStdout: boolean }> = [
    { what: 'Ctrl-C to mpirun', stop: (job) => job.child.kill('SIGINT'), readsStdout: true },
    // mpirun notices at its next write (SIGPIPE), and ends the job as after Ctrl-C.
    { what: "mpirun's stdout closed", stop: (job) => job.child.stdout!.destroy(), readsStdout: false },
  ];
  for (const { what, stop, readsStdout } of stops) {
    it(`stops on ${what}: every rank finishes the step and exits 143 by itself, rank 0 writes the checkpoint of that step, which resumes in one process bit for bit`, async () => {
      const out = dir();
      const exits = dir();
      const job = await inTurn(async () => {
        const started = startMpirun(
          [{ np: 2, args: [...small, '--epochs', '500', '--workers', '1', '--checkpoint-every', '2', '--out', out, '--json'] }],
          100_000,
          { mpirunArgs: ['--mca', 'odls_base_sigkill_timeout', '4'], exitsTo: exits },
        );
        // Stop once training has written its first checkpoint.
        expect(await started.line((l) => l.type === 'checkpoint')).toBeDefined();
        stop(started);
        // Both ranks gone (or mpirun, which kills what is left): the lane is free while mpirun sleeps.
        await Promise.race([rankExits(exits, 2), started.done]);
        return started;
      });
      expect(await rankExits(exits, 2)).toEqual(['rank exited: 143', 'rank exited: 143']);
      const step = (await readCheckpoint(out)).state.run.progress.step;
      expect(step).toBeLessThan(500 * 4);
      // The stop checkpoint continues in one process as the run would have: the same weights as one uninterrupted run.
      const epochs = String(Math.ceil(step / 4) + 1);
      const resumed = await cli(['train', ...data, '--resume', out, '--out', out, '--epochs', epochs, '--workers', '1']);
      expect(resumed.code, resumed.stderr).toBe(0);
      const whole = dir();
      const reference = await cli(['train', ...small, '--epochs', epochs, '--workers', '2', '--out', whole]);
      expect(reference.code, reference.stderr).toBe(0);
      expect((await weights(out)).equals(await weights(whole))).toBe(true);

      // What the ranks printed comes through once mpirun is done.
      const ended = await job.done;
      expect(ended.timedOut).toBe(false);
      expect(ended.code).toBe(1);
      expect(ended.stderr.match(/corefit: mpirun is ending the job \(SIGCONT\): finishing the current step and writing a checkpoint/g)).toHaveLength(2);
      expect(ended.stderr).toContain(`corefit: stopped by mpirun at step ${step}: checkpoint written to `);
      expect(ended.stderr).toMatch(new RegExp(`corefit: rank 1 on \\S+ stopped at step ${step}\n`));
      if (readsStdout) expect(jsonLines(ended.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'stopped', step });
    });
  }

  it('ends a job whose rank hangs after --comm-timeout, naming the rank, its host and the step, with exit code 70', async () => {
    const args = [...small, '--epochs', '1', '--workers', '1', '--comm-timeout', '2'];
    const job = await mpirun([
      { np: 1, args },
      { np: 1, args, env: { COREFIT_TEST_FAULT: '0:3:hang' } },
    ]);
    expect(job.timedOut).toBe(false);
    expect(job.code).toBe(70);
    expect(job.stderr).toMatch(/rank [01] on \S+ stopped the job at step 3: .*within --comm-timeout 2 s/);
  });

  it('ends the job when a rank throws, naming the rank, its host and the step, with exit code 70', async () => {
    const args = [...small, '--epochs', '1', '--workers', '1'];
    const job = await mpirun([
      { np: 1, args },
      { np: 1, args, env: { COREFIT_TEST_FAULT: '0:3:throw' } },
    ]);
    expect(job.code).toBe(70);
    expect(job.stderr).toMatch(/rank 1 on \S+: worker 0 failed at step 3: injected fault at step 3/);
  });

  it('refuses at start-up ranks started with other options or data, naming what differs (exit code 64)', async () => {
    const args = [...small, '--epochs', '1', '--workers', '1'];
    const job = await mpirun([
      { np: 1, args },
      { np: 1, args: [...args, '--seed', '7', '--test-rows', '50'] },
    ]);
    expect(job.code).toBe(64);
    expect(job.stderr).toMatch(/rank 1's option seed is 7, rank 0's 1/);
    expect(job.stderr).toMatch(/rank 1's data is \S+ \(sha256 of the rows used \w+\), rank 0's \S+ \(sha256 of the rows used \w+\)/);
  });
});
