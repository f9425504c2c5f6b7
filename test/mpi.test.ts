/**
 * `corefit train --comm mpi` under mpirun on this machine (loopback, more ranks than
 * cores): the same weights for any split of a shard count into ranks × workers, resume
 * across rank counts, and how a job ends when a rank dies, hangs, throws or differs.
 * Skipped, saying why, where MPI or corefit's MPI transport is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { mpiAvailable } from '../src/parallel/mpi/addon.js';
import { CLI, jsonLines, runCli, type CliRun } from './helpers/cli.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { exchangeLayout } from '../src/parallel/mpi/layout.js';
import { freshDirs } from './helpers/temp-dirs.js';

const missing = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0
  ? 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)'
  : !mpiAvailable()
    ? "corefit's MPI transport was not built (node native/mpi/build.mjs)"
    : undefined;

/** One program of an MPMD mpirun line: `np` ranks of `corefit train args`, with extra environment. */
interface Ranks {
  readonly np: number;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** mpirun on loopback, as root and with more ranks than cores, of `corefit train --comm mpi` per program. */
function mpirun(programs: readonly Ranks[], limitMs = 120_000): Promise<CliRun> {
  const args = ['--allow-run-as-root', '--oversubscribe'];
  programs.forEach((p, i) => {
    if (i > 0) args.push(':');
    args.push('-np', String(p.np));
    if (p.env !== undefined) args.push('env', ...Object.entries(p.env).map(([k, v]) => `${k}=${v}`));
    args.push(process.execPath, CLI, 'train', '--comm', 'mpi', ...p.args);
  });
  const child = spawn('mpirun', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const SMALL = ['--train-rows', '2000', '--test-rows', '200', '--batch-size', '100'];

const weights = (dir: string): Promise<Buffer> => readFile(join(dir, 'weights.bin'));

describe.skipIf(missing !== undefined)(`train --comm mpi${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  const dir = freshDirs('corefit-mpi-');

  it('gives the weights and Adam moments of one process for 2 shards: 2 ranks × 1 worker = 1 process × 2 workers', async () => {
    const [a, b] = [dir(), dir()];
    const ranks = await mpirun([{ np: 2, args: [...SMALL, '--epochs', '2', '--workers', '1', '--out', a] }]);
    expect(ranks.code, ranks.stderr).toBe(0);
    expect(ranks.stdout.match(/^epoch \d/gm)).toEqual(['epoch 1', 'epoch 2']); // rank 0 alone reports
    const one = await runCli(['train', ...SMALL, '--epochs', '2', '--workers', '2', '--shards', '2', '--out', b]);
    expect(one.code, one.stderr).toBe(0);
    expect((await weights(a)).equals(await weights(b))).toBe(true);
    const [ca, cb] = [await readCheckpoint(a), await readCheckpoint(b)];
    expect(Buffer.from(ca.state.m.buffer).equals(Buffer.from(cb.state.m.buffer))).toBe(true);
    expect(Buffer.from(ca.state.v.buffer).equals(Buffer.from(cb.state.v.buffer))).toBe(true);
  });

  it('gives the same weights for 4 shards as 4 ranks × 1, 2 ranks × 2 and 1 process × 4 (clipping on); a rank sends the same bytes whatever its workers', async () => {
    const [r4, r2, one] = [dir(), dir(), dir()];
    const clip = ['--clip-norm', '0.5', '--json'];
    const four = await mpirun([{ np: 4, args: [...SMALL, ...clip, '--epochs', '1', '--workers', '1', '--out', r4] }]);
    expect(four.code, four.stderr).toBe(0);
    const two = await mpirun([{ np: 2, args: [...SMALL, ...clip, '--epochs', '1', '--workers', '2', '--out', r2] }]);
    expect(two.code, two.stderr).toBe(0);
    // Rank 0's part of the gradients to the others, and its part of the parameters (and a flag) to each of them.
    const size = paramLayout(DEFAULT_SPEC).size;
    for (const [job, ranks] of [[four, 4], [two, 2]] as const) {
      const own = exchangeLayout(size, 4, ranks, 0).counts[0];
      const epoch = jsonLines(job.stdout).find((l) => l.type === 'epoch') as { exchange: { bytes_sent_per_step: number } };
      expect(epoch.exchange.bytes_sent_per_step).toBe((size - own) * 4 + (own + 1) * 4 * (ranks - 1));
    }
    const single = await runCli(['train', ...SMALL, ...clip, '--epochs', '1', '--workers', '1', '--shards', '4', '--out', one]);
    expect(single.code, single.stderr).toBe(0);
    const expected = await weights(one);
    expect((await weights(r4)).equals(expected)).toBe(true);
    expect((await weights(r2)).equals(expected)).toBe(true);
  });

  it('resumes across rank counts: 1 process → 2 ranks, and a job whose rank was killed → 1 process without mpirun, bit for bit', async () => {
    const [uninterrupted, grown, killed] = [dir(), dir(), dir()];
    const run = ['--epochs', '2', '--checkpoint-every', '10'];
    const straight = await runCli(['train', ...SMALL, ...run, '--workers', '2', '--out', uninterrupted]);
    expect(straight.code, straight.stderr).toBe(0);

    const first = await runCli(['train', ...SMALL, '--epochs', '1', '--workers', '2', '--out', grown]);
    expect(first.code, first.stderr).toBe(0);
    const second = await mpirun([{ np: 2, args: ['--resume', grown, '--out', grown, '--epochs', '2', '--workers', '1'] }]);
    expect(second.code, second.stderr).toBe(0);
    expect((await weights(grown)).equals(await weights(uninterrupted))).toBe(true);

    // Rank 1 is killed (SIGKILL) in step 25, after the checkpoint of step 20.
    const job = await mpirun([
      { np: 1, args: [...SMALL, ...run, '--workers', '1', '--out', killed] },
      { np: 1, args: [...SMALL, ...run, '--workers', '1', '--out', killed], env: { COREFIT_TEST_FAULT: '0:25:kill' } },
    ]);
    expect(job.timedOut).toBe(false);
    expect(job.code).not.toBe(0);
    expect(job.stderr).toMatch(/process rank 1 .* on node \S+ exited on signal 9/);
    expect((await readCheckpoint(killed)).state.step).toBe(20);
    const resumed = await runCli(['train', '--resume', killed, '--out', killed, '--epochs', '2', '--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await weights(killed)).equals(await weights(uninterrupted))).toBe(true);
  });

  it('ends the job when a rank throws, naming the rank, its host and the step, with exit code 70', async () => {
    const args = [...SMALL, '--epochs', '1', '--workers', '1'];
    const job = await mpirun([{ np: 1, args }, { np: 1, args, env: { COREFIT_TEST_FAULT: '0:3:throw' } }]);
    expect(job.code).toBe(70);
    expect(job.stderr).toMatch(/rank 1 on \S+: worker 0 failed at step 3: injected fault at step 3/);
  });

  it('ends a job whose rank hangs after --comm-timeout, with exit code 70', async () => {
    const args = [...SMALL, '--epochs', '1', '--workers', '1', '--comm-timeout', '2'];
    const job = await mpirun([{ np: 1, args }, { np: 1, args, env: { COREFIT_TEST_FAULT: '0:3:hang' } }]);
    expect(job.timedOut).toBe(false);
    expect(job.code).toBe(70);
    expect(job.stderr).toMatch(/rank [01] on \S+ stopped the job at step 3: .*within --comm-timeout 2 s/);
  });

  it('refuses at start-up a rank started with other options or data, naming what differs (exit code 64)', async () => {
    const args = [...SMALL, '--epochs', '1', '--workers', '1'];
    const options = await mpirun([{ np: 1, args }, { np: 1, args: [...args, '--seed', '7'] }]);
    expect(options.code).toBe(64);
    expect(options.stderr).toMatch(/rank 1's option seed is 7, rank 0's 1/);
    const data = await mpirun([{ np: 1, args }, { np: 1, args: ['--train-rows', '2000', '--test-rows', '300', '--batch-size', '100', '--epochs', '1', '--workers', '1'] }]);
    expect(data.code).toBe(64);
    expect(data.stderr).toMatch(/rank 1's data is mnist \(sha256 of the rows used \w+\), rank 0's mnist \(sha256 of the rows used \w+\)/);
  });
});
