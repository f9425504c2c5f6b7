/**
 * The dashboard of an MPI job (`mpirun -np 2 … corefit train --comm mpi --dashboard`):
 * rank 0 alone serves it, on the port asked for, and the page's events, history.json and
 * `corefit dashboard --run` carry every rank's throughput per worker and its hosts. In
 * Chromium, the throughput chart has a bar part per rank and worker (screenshot in
 * test-artifacts/dashboard-mpi.png). Skipped, saying why, where MPI, corefit's MPI
 * transport or Chromium is missing.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Snapshot } from '../src/dashboard/run-view.js';
import { readHistoryFile } from '../src/train/history-file.js';
import type { EpochEvent, StartEvent } from '../src/train/events.js';
import { artifactPath, browserMissing, launchChromium } from './helpers/browser.js';
import { jsonLines, startCli } from './helpers/cli.js';
import { mpiMissing, startMpirun } from './helpers/mpirun.js';
import { writeSmallDataSet } from './helpers/small-data.js';
import { freshDirs } from './helpers/temp-dirs.js';

// What the page scripts see; these callbacks run in the browser.
declare const echarts: {
  getInstanceByDom(el: unknown): { getOption(): { series: Array<{ name: string; stack?: string; data: unknown[] }> } | undefined } | undefined;
};
declare const document: { getElementById(id: string): { textContent: string } };

const fresh = freshDirs('corefit-dashboard-mpi-');
const WORKERS = 2;
const EPOCHS = 3;

/** A port free just now: the job is told to take it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The body of a GET, once the server ends it. */
function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => (text += s));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

/** Every message of the page's event stream, until the server ends it with the run. */
async function readEvents(url: string): Promise<Array<Record<string, unknown>>> {
  return (await getText(`${url}api/events`))
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => JSON.parse(f.slice('data: '.length)) as Record<string, unknown>);
}

/** Each epoch's throughput holds both ranks, each with its workers' samples/s. */
function expectBothRanks(epochs: readonly EpochEvent[]): void {
  expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
  for (const e of epochs) {
    expect(e.ranks).toHaveLength(2);
    for (const rank of e.ranks!) {
      expect(rank.worker_samples_per_sec).toHaveLength(WORKERS);
      for (const x of rank.worker_samples_per_sec) expect(x).toBeGreaterThan(0);
      expect(rank.step_seconds.step).toBeGreaterThan(0);
    }
    // Rank 0's own workers are the epoch's top-level figures.
    expect(e.worker_samples_per_sec).toEqual(e.ranks![0].worker_samples_per_sec);
    // Every worker of every rank adds up to the job's samples/s: no rank's steps counted a wait for rank 0's report.
    const sum = e.ranks!.flatMap((r) => r.worker_samples_per_sec).reduce((a, x) => a + x, 0);
    expect(sum / e.samples_per_sec).toBeGreaterThan(0.9);
    expect(sum / e.samples_per_sec).toBeLessThan(1.1);
  }
}

describe.skipIf(mpiMissing !== undefined)(
  `train --comm mpi --dashboard${mpiMissing === undefined ? '' : ` (skipped: ${mpiMissing})`}`,
  { timeout: 300_000 },
  () => {
    it('rank 0 alone serves the page, on the port asked for; its events, history.json and dashboard --run carry both ranks per worker', async () => {
      const out = fresh();
      const data = await writeSmallDataSet(fresh(), { train: 8000, test: 500 });
      const port = await freePort();
      const args = [
        '--data',
        data,
        '--epochs',
        String(EPOCHS),
        '--workers',
        String(WORKERS),
        '--out',
        out,
        '--json',
        '--dashboard',
        '--dashboard-port',
        String(port),
      ];
      const job = startMpirun([{ np: 2, args }], 200_000);
      const announced = await job.line((l) => l.type === 'dashboard');
      expect(announced?.url).toBe(`http://127.0.0.1:${port}/`);
      // The stream starts before the training does: its snapshot and changes make the whole run.
      const events = await readEvents(announced!.url as string);
      const run = await job.done;
      expect(run.code, run.stderr).toBe(0);
      // One URL: no other rank served a page (or failed for want of the port).
      expect(jsonLines(run.stdout).filter((l) => l.type === 'dashboard')).toHaveLength(1);
      expect(`${run.stdout}${run.stderr}`.match(/http:\/\//g)).toHaveLength(1);

      const snapshot = events[0] as unknown as Snapshot;
      expect(snapshot.type).toBe('snapshot');
      const start = (snapshot.start ?? events.find((m) => m.type === 'start')!.start) as StartEvent;
      expect(start).toMatchObject({ ranks: 2, workers: WORKERS });
      expect(start.hosts).toHaveLength(2);
      const live = [...snapshot.epochs, ...(events.filter((m) => m.type === 'epoch') as unknown as EpochEvent[])];
      expectBothRanks(live);
      expect(events.at(-1)).toMatchObject({ type: 'status', status: 'completed' });

      // The finished run keeps the same: history.json, and the page of `corefit dashboard --run`.
      const history = await readHistoryFile(out);
      expect(history.start.hosts).toEqual(start.hosts);
      expectBothRanks(history.epochs);
      const serving = startCli(['dashboard', '--run', out, '--json']);
      const finished = (await serving.line((l) => l.type === 'dashboard'))!.url as string;
      const state = JSON.parse(await getText(`${finished}api/state`)) as Snapshot;
      expectBothRanks(state.epochs);
      expect(state.start?.hosts).toEqual(start.hosts);

      if (browserMissing === undefined) await inChromium(finished, start.hosts!);
      serving.child.kill('SIGINT');
      expect((await serving.done).code).toBe(0);
    });

    it('reads a history.json from before per-rank throughput, and refuses a rank entry that is not one', async () => {
      const dir = fresh();
      const job = startMpirun(
        [{ np: 2, args: ['--data', await writeSmallDataSet(fresh(), { train: 400, test: 100 }), '--epochs', '1', '--workers', '1', '--out', dir] }],
        200_000,
      );
      expect((await job.done).code).toBe(0);
      const written = JSON.parse(await readFile(join(dir, 'history.json'), 'utf8')) as {
        start: Record<string, unknown>;
        epochs: Array<Record<string, unknown>>;
      };
      expect(written.epochs[0].ranks).toHaveLength(2);

      const { hosts: _hosts, ...olderStart } = written.start;
      const older = { start: olderStart, epochs: written.epochs.map(({ ranks: _ranks, ...e }) => e) };
      await writeFile(join(dir, 'history.json'), JSON.stringify(older));
      const read = await readHistoryFile(dir);
      expect(read.epochs[0].ranks).toBeUndefined();
      expect(read.epochs[0].worker_samples_per_sec).toEqual(written.epochs[0].worker_samples_per_sec);

      const damaged = structuredClone(written) as { epochs: Array<{ ranks: Array<Record<string, unknown>> }> };
      damaged.epochs[0].ranks[1].worker_samples_per_sec = ['fast'];
      await writeFile(join(dir, 'history.json'), JSON.stringify(damaged));
      await expect(readHistoryFile(dir)).rejects.toThrow(/epochs\[0\]\.ranks\[1\]\.worker_samples_per_sec must be an array of finite numbers/);
    });
  },
);

/** The finished MPI run's page in Chromium: a bar part per rank and worker, the hosts in the run's facts. */
async function inChromium(url: string, hosts: readonly string[]): Promise<void> {
  const browser: Browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction((epochs) => {
      const option = echarts.getInstanceByDom(document.getElementById('throughput-chart'))?.getOption();
      return option !== undefined && option.series.some((s) => s.name === 'total' && s.data.length === epochs);
    }, EPOCHS);
    const series = await page.evaluate(() =>
      echarts
        .getInstanceByDom(document.getElementById('throughput-chart'))!
        .getOption()!
        .series.map((s) => ({ name: s.name, stack: s.stack, data: s.data as number[] })),
    );
    expect(series.map((s) => s.name)).toEqual(['rank 0 worker 1', 'rank 0 worker 2', 'rank 1 worker 1', 'rank 1 worker 2', 'total']);
    // A bar per rank, stacked from its own workers.
    expect(series.slice(0, 4).map((s) => s.stack)).toEqual(['rank 0', 'rank 0', 'rank 1', 'rank 1']);
    for (const s of series) {
      expect(s.data).toHaveLength(EPOCHS);
      for (const x of s.data) expect(x).toBeGreaterThan(0);
    }
    const info = await page.evaluate(() => document.getElementById('info').textContent);
    expect(info).toContain('ranks × workers / shards2 × 2 / 4');
    expect(info).toContain(`hosts${hosts[0]} (ranks 0, 1)`);
    expect(errors).toEqual([]);
    await page.screenshot({ path: await artifactPath('dashboard-mpi.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}
