/**
 * The folders a run writes into, as a user meets them: an --out that already holds a
 * checkpoint, places where no folder can be created (/proc, /sys, a read-only or full
 * file system), and a signal that arrives before training has started. Each must end by
 * itself, quickly, with a message that fits the phase the run is in.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES } from '../src/data/dataset.js';
import { EXIT_CODES } from '../src/errors.js';
import { jsonLines, runCli, startCli } from './helpers/cli.js';
import { writeSmallDataSet } from './helpers/small-data.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-out-folder-');
let data: string;
const tiny = (): string[] => ['--data', data, '--batch-size', '100', '--epochs', '1', '--workers', '1'];

beforeAll(async () => {
  data = await writeSmallDataSet(freshDir());
});
/** A hang fails its test in half a minute instead of running into the suite's timeout (start-up alone takes seconds on a busy machine). */
const LIMIT_MS = 30_000;
/** How long a run may take to quit once signalled. */
const QUIT_MS = 10_000;
const { USAGE, OUTPUT, CHECKPOINT } = EXIT_CODES;

describe('an --out that already holds a checkpoint', () => {
  let dir: string;
  let weights: Buffer;
  beforeAll(async () => {
    dir = freshDir();
    const first = await runCli(['train', ...tiny(), '--out', dir, '--json']);
    expect(first.code, first.stderr).toBe(0);
    weights = await readFile(join(dir, 'weights.bin'));
  });

  it('is refused without --resume or --overwrite, naming the checkpoint and both ways on, and left as it was', async () => {
    const run = await runCli(['train', ...tiny(), '--seed', '2', '--out', dir, '--json']);
    expect(run.code, run.stderr).toBe(USAGE);
    expect(run.stderr).toContain(`--out ${dir} already holds a checkpoint: weights.bin, model.json, state.msgpack (model mnist-autoencoder, 1 epoch, step 2)`);
    expect(run.stderr).toContain(`--resume ${dir} --out ${dir}`);
    expect(run.stderr).toContain('--overwrite');
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'error', code: 'USAGE' });
    expect((await readFile(join(dir, 'weights.bin'))).equals(weights)).toBe(true);
  });

  it('is refused when a run resumed from elsewhere would write into it', async () => {
    const other = freshDir();
    expect((await runCli(['train', ...tiny(), '--out', other])).code).toBe(0);
    const run = await runCli(['train', '--resume', other, '--epochs', '2', '--workers', '1', '--out', dir]);
    expect(run.code, run.stderr).toBe(USAGE);
    expect(run.stderr).toContain('already holds a checkpoint');
    expect((await readFile(join(dir, 'weights.bin'))).equals(weights)).toBe(true);
  });

  it('is replaced with --overwrite', async () => {
    const copy = freshDir();
    expect((await runCli(['train', ...tiny(), '--out', copy])).code).toBe(0);
    const run = await runCli(['train', ...tiny(), '--seed', '2', '--out', copy, '--overwrite']);
    expect(run.code, run.stderr).toBe(0);
    expect((await readFile(join(copy, 'weights.bin'))).equals(weights)).toBe(false);
  });

  it('is continued with --resume DIR --out DIR', async () => {
    const copy = freshDir();
    expect((await runCli(['train', ...tiny(), '--out', copy])).code).toBe(0);
    const run = await runCli(['train', '--data', data, '--resume', copy, '--out', copy, '--epochs', '2', '--workers', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', epochs: 2 });
  });
});

describe('a folder that cannot be created ends the run at once, with a reason', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    [
      'train --out under /proc',
      () => ['train', ...tiny(), '--out', '/proc/corefit/out'],
      /--out \/proc\/corefit\/out cannot be written: folders cannot be created there \(a pseudo file system such as \/proc/,
    ],
    [
      'train --out under /sys',
      () => ['train', ...tiny(), '--out', '/sys/corefit'],
      /--out \/sys\/corefit cannot be written: (permission denied|the file system is read-only)/,
    ],
    [
      'eval --images under /proc',
      () => ['eval', '--checkpoint', '/proc/corefit-missing', '--images', '/proc/corefit/images'],
      /--images \/proc\/corefit\/images cannot be written: folders cannot be created there/,
    ],
    [
      'bench --out under /proc',
      () => ['bench', '--workers', '1', '--batch-sizes', '100', '--steps', '1', '--repeats', '1', '--target', '0', '--out', '/proc/corefit/bench'],
      /--out \/proc\/corefit\/bench cannot be written: folders cannot be created there/,
    ],
  ];
  it.each(cases)('%s', async (_, args, says) => {
    const run = await startCli([...args(), '--json'], {}, LIMIT_MS).done;
    expect(run.timedOut, 'the command hung').toBe(false);
    expect(run.code, run.stderr).toBe(USAGE);
    expect(run.stderr).toMatch(says);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'error', code: 'USAGE' });
  });
});

describe('a signal before training has started', () => {
  it('quits at once, saying that nothing was trained or written (not that a step is finishing)', async () => {
    // A data file that is a FIFO: reading it blocks until someone writes, so the run is
    // held in its set-up phase for as long as the test needs.
    const held = freshDir();
    await mkdir(held);
    for (const name of [DATA_FILES.train.labels, DATA_FILES.test.images, DATA_FILES.test.labels]) await copyFile(join(data, name), join(held, name));
    const fifo = join(held, DATA_FILES.train.images);
    execFileSync('mkfifo', [fifo]);
    const cli = startCli(['train', '--data', held, '--out', freshDir(), '--epochs', '1']);
    // Opening the writing end waits until corefit has opened the file: by then its handlers are in place.
    const writer = await open(fifo, 'w');
    try {
      cli.child.kill('SIGINT');
      const hung = setTimeout(() => cli.child.kill('SIGKILL'), QUIT_MS);
      const run = await cli.done;
      clearTimeout(hung);
      // It dies of the signal, which a shell reports as exit code 130; a hang would end in the SIGKILL above.
      expect(run.signal, 'the command did not quit').toBe('SIGINT');
      expect(run.stderr).toContain('SIGINT before training started: stopped; nothing was trained or written');
      expect(run.stderr).not.toContain('finishing the current step');
    } finally {
      await writer.close();
    }
  });
});

/** Mounts need root (and a kernel that lets this process mount); elsewhere these cases cannot be set up. */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('sh', ['-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d" && rmdir "$d"'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!canMount())('file systems that refuse writes (tmpfs mounts)', () => {
  const mounted: string[] = [];
  const mount = async (options: string): Promise<string> => {
    const dir = freshDir();
    await mkdir(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    mounted.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of mounted) execFileSync('umount', [dir]);
  });

  it('a read-only file system is refused before training', async () => {
    const dir = await mount('ro,size=64k');
    const run = await startCli(['train', ...tiny(), '--out', join(dir, 'run')]).done;
    expect(run.timedOut).toBe(false);
    expect(run.code, run.stderr).toBe(USAGE);
    expect(run.stderr).toContain(`--out ${join(dir, 'run')} cannot be written: the file system is read-only`);
  });

  it('a disk that fills up during the run fails the checkpoint write, saying so', async () => {
    // Room for the folder and the probe, not for the weights (about 0.9 MB).
    const dir = await mount('size=256k');
    const run = await startCli(['train', ...tiny(), '--out', join(dir, 'run')]).done;
    expect(run.timedOut).toBe(false);
    expect(run.code, run.stderr).toBe(CHECKPOINT);
    expect(run.stderr).toContain(`cannot write checkpoint ${join(dir, 'run')}: no space left on the device`);
    expect((await stat(join(dir, 'run'))).isDirectory()).toBe(true);
  });

  it('pictures that no longer fit are a write error after the checkpoint, not a bug', async () => {
    // Room for the checkpoint (weights 0.9 MB, state 1.8 MB: 2612 KiB in pages), not for the pictures beside it.
    const dir = await mount('size=2620k');
    const run = await startCli(['train', ...tiny(), '--out', join(dir, 'run')]).done;
    expect(run.timedOut).toBe(false);
    expect(run.code, run.stderr).toBe(OUTPUT);
    expect(run.stderr).toContain(`cannot write pictures into ${join(dir, 'run')}: no space left on the device`);
    expect(run.stderr).not.toContain('bug in corefit');
  });
});
