/**
 * The dashboard from the command line, without a browser: Ctrl-C with a page connected
 * (one that has stopped reading) still checkpoints and exits as without the dashboard,
 * a finished run's folder keeps history.json, and wrong usage says what to do.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/checkpoint.js';
import { EXIT_CODES } from '../src/errors.js';
import { readHistoryFile } from '../src/train/history-file.js';
import { STACK_FRAME, jsonLines, runCli, startCli } from './helpers/cli.js';
import { smallRun, useSmallRunData } from './helpers/small-run.js';
import { freshDirs } from './helpers/temp-dirs.js';

const fresh = freshDirs('corefit-dashboard-cli-');
useSmallRunData(fresh);

describe('train --dashboard', () => {
  it('Ctrl-C with a stalled page connected still checkpoints and exits 130; history.json holds the epochs done', async () => {
    const dir = fresh();
    const cli = startCli(['train', ...smallRun(), '--epochs', '50', '--out', dir, '--json', '--dashboard']);
    const announced = await cli.line((l) => l.type === 'dashboard');
    const { port } = new URL(announced!.url as string);
    const page = connect(Number(port), '127.0.0.1');
    page.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    page.pause();
    expect(await cli.line((l) => l.type === 'epoch' && l.epoch === 1)).toBeDefined();
    cli.child.kill('SIGINT');
    const run = await cli.done;
    page.destroy();
    expect(run.code, run.stderr).toBe(130);
    expect(run.timedOut).toBe(false);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    const summary = jsonLines(run.stdout).at(-1)!;
    expect(summary).toMatchObject({ type: 'summary', status: 'stopped' });
    expect((await readCheckpoint(dir)).state.run.progress.step).toBe(summary.step);
    const history = await readHistoryFile(dir);
    expect(history.start.workers).toBe(2);
    expect(history.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: summary.epochs as number }, (_, i) => i + 1));
    for (const e of history.epochs) expect(e.worker_samples_per_sec).toHaveLength(2);
    expect(JSON.parse(await readFile(join(dir, 'history.json'), 'utf8'))).toEqual(history);
  });

  it('refuses --dashboard-port without --dashboard, and a port already taken', async () => {
    const stray = await runCli(['train', '--dashboard-port', '8080', '--epochs', '1']);
    expect(stray.code).toBe(EXIT_CODES.USAGE);
    expect(stray.stderr).toContain('--dashboard-port needs --dashboard');

    const serving = startCli(['dashboard', '--run', await finishedRun(), '--json']);
    const announced = await serving.line((l) => l.type === 'dashboard');
    const { port } = new URL(announced!.url as string);
    const taken = await runCli(['dashboard', '--run', await finishedRun(), '--port', port]);
    expect(taken.code).toBe(EXIT_CODES.USAGE);
    expect(taken.stderr).toMatch(/cannot serve the dashboard on 127\.0\.0\.1:\d+: EADDRINUSE/);
    serving.child.kill('SIGTERM');
    expect((await serving.done).code).toBe(0);
  });
});

describe('corefit dashboard', () => {
  it('needs --run, and a folder with a history', async () => {
    const none = await runCli(['dashboard']);
    expect(none.code).toBe(EXIT_CODES.USAGE);
    expect(none.stderr).toContain('needs --run DIR');
    const empty = await runCli(['dashboard', '--checkpoint', fresh()]);
    expect(empty.code).toBe(EXIT_CODES.CHECKPOINT);
    expect(empty.stderr).toMatch(/history\.json does not exist/);
    expect(empty.stderr).toContain('corefit train --out DIR');
  });
});

let finished: string | undefined;
/** One short run with --out, shared by the tests that only need its folder. */
async function finishedRun(): Promise<string> {
  if (finished === undefined) {
    const dir = fresh();
    const run = await runCli(['train', '--train-rows', '1000', '--test-rows', '500', '--epochs', '1', '--out', dir]);
    expect(run.code, run.stderr).toBe(0);
    finished = dir;
  }
  return finished;
}
