/**
 * What watching a run costs it: training samples/s with the dashboard served and a
 * Chromium page open on it, against the same run without, interleaved in one process
 * so both see the same machine. Pictures are drawn in both (as with --out), so the
 * difference is the server, the event stream and the page.
 *
 *   npm run bench:dashboard    (node dist/scripts/dashboard-cost.js [--repeats 3] [--epochs 2] [--train-rows 60000])
 *
 * Shared machines drift by more than the effect, so the figure is the median of the
 * with/without ratios of adjacent pairs, with its 95 % bootstrap interval (resampled
 * pairs), quartiles and range. On a shared 2-core machine other tenants move a pair's
 * ratio by some ±10 %, in 10-epoch runs as in 4-epoch ones, so 40 pairs still leave an
 * interval about ±3 % wide, and 120 pairs (--repeats 120) about ±2.5 %.
 *
 * Two figures beside it do not depend on the host's noise:
 * - the CPU time the browser took during the watched runs' steps, per second of steps.
 *   On a machine whose every core trains, a millisecond taken from any one worker delays
 *   the whole synchronous step, so that is about the share of samples/s watching costs;
 * - the time the training workers (the threads on a core most of the steps' time) waited
 *   in this machine's run queues during the steps (schedstat's second field), with and
 *   without: what the browser and everything else here took from them. Time the
 *   hypervisor gives to other tenants is not in it.
 *
 * The page needs Debian's chromium at /usr/bin/chromium; without it, an event-stream
 * reader in this process stands in for the page, and the report says so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from './chromium.js';
import { median } from '../src/median.js';
import { loadDataset } from '../src/data/dataset.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { Rng } from '../src/rng.js';
import { RunView } from '../src/dashboard/run-view.js';
import { startDashboard } from '../src/dashboard/server.js';
import type { TrainEvent } from '../src/train/events.js';
import { train } from '../src/train/train.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' },
    epochs: { type: 'string', default: '2' },
    'train-rows': { type: 'string', default: '60000' },
  },
});
const repeats = Number(values.repeats);
const epochs = Number(values.epochs);
const trainRows = Number(values['train-rows']);

const dataset = await loadDataset({ normalize: DEFAULT_SPEC.normalize });
const browser: Browser | undefined = chromiumMissing === undefined ? await launchChromium() : undefined;
// One profile for every page, as a user's browser has: a new context per page would add its first-use work to every watched run.
const context = await browser?.newContext({ viewport: { width: 1300, height: 1400 } });
const watcher = browser === undefined ? `an event-stream reader (${chromiumMissing})` : 'a Chromium page';

/**
 * CPU seconds used so far by this process's child processes (the browser), from /proc:
 * the nanoseconds each of their threads ran (schedstat), not utime and stime, whose
 * 10 ms ticks are as coarse as what one second of steps costs.
 */
function childCpuSeconds(): number {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after "(comm) ": state ppid …
      parent.set(Number(name), Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]));
    } catch {
      // The process ended while being read.
    }
  }
  const isMine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  let seconds = 0;
  for (const pid of parent.keys()) if (isMine(pid)) for (const t of threadTimes(pid).values()) seconds += t.run;
  return seconds;
}

/** Each thread of a process by id: seconds on a core, and seconds runnable but waiting in a run queue (schedstat's first two fields). */
type ThreadTimes = Map<string, { run: number; wait: number }>;

function threadTimes(pid: number | 'self'): ThreadTimes {
  const times: ThreadTimes = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
        times.set(tid, { run: run / 1e9, wait: wait / 1e9 });
      } catch {
        // The thread ended while being read.
      }
    }
  } catch {
    // The process ended while being read.
  }
  return times;
}

/** Run-queue wait over a stretch of `seconds`, summed over the threads that were on a core most of it: the training workers. */
function workersWait(from: ThreadTimes, to: ThreadTimes, seconds: number): number {
  let wait = 0;
  for (const [tid, t] of to) {
    const before = from.get(tid);
    if (before !== undefined && t.run - before.run > seconds / 2) wait += t.wait - before.wait;
  }
  return wait;
}

interface RunFigures {
  readonly samplesPerSec: number;
  readonly samplesPerSecByEpoch: readonly number[];
  /** Browser CPU seconds during the steps, per second of steps: over the run, and in each epoch's. */
  readonly browserShare: number;
  readonly browserShareByEpoch: readonly number[];
  /** Seconds the training workers waited in a run queue of this machine during the steps, per second of steps. */
  readonly runQueueWait: number;
}

/** Browser CPU, the workers' run-queue wait and wall time over each stretch of steps: from `start` or `pictures` (the last event before steps) to `epoch`. */
class StepsWindow {
  private from: { browser: number; threads: ThreadTimes; at: number } | undefined;
  readonly epochs: Array<{ browser: number; wait: number; seconds: number }> = [];
  constructor(private readonly watched: boolean) {}
  private read(): { browser: number; threads: ThreadTimes; at: number } {
    return { browser: this.watched ? childCpuSeconds() : 0, threads: threadTimes('self'), at: performance.now() };
  }
  onEvent(e: TrainEvent): void {
    if (e.type === 'start' || e.type === 'pictures') this.from = this.read();
    if (e.type === 'epoch' && this.from !== undefined) {
      const to = this.read();
      const seconds = (to.at - this.from.at) / 1000;
      this.epochs.push({ browser: to.browser - this.from.browser, wait: workersWait(this.from.threads, to.threads, seconds), seconds });
      this.from = undefined;
    }
  }
  perSecond(of: 'browser' | 'wait'): number {
    const seconds = this.epochs.reduce((s, w) => s + w.seconds, 0);
    return seconds === 0 ? 0 : this.epochs.reduce((s, w) => s + w[of], 0) / seconds;
  }
}

/** Mean training samples/s over the epochs of one run (steps only, as every epoch line reports it). */
async function measure(watched: boolean): Promise<RunFigures> {
  const view = new RunView();
  const dashboard = watched ? await startDashboard({ view }) : undefined;
  const page = dashboard === undefined ? undefined : await openWatcher(dashboard.url);
  try {
    const steps = new StepsWindow(watched);
    const result = await train({
      dataset,
      epochs,
      trainRows,
      pictures: true,
      onEvent: (e) => {
        // The window opens before the page gets the run's start (taking it in is part of the steps)
        // and closes before it gets the epoch's message (which it takes in during the pause).
        steps.onEvent(e);
        dashboard?.publish(e);
      },
    });
    return {
      samplesPerSec: result.epochs.reduce((s, e) => s + e.samples_per_sec, 0) / result.epochs.length,
      samplesPerSecByEpoch: result.epochs.map((e) => e.samples_per_sec),
      browserShare: steps.perSecond('browser'),
      browserShareByEpoch: steps.epochs.map((w) => w.browser / w.seconds),
      runQueueWait: steps.perSecond('wait'),
    };
  } finally {
    await page?.close();
    await dashboard?.close();
  }
}

async function openWatcher(url: string): Promise<{ close(): Promise<void> }> {
  if (context !== undefined) {
    const page = await context.newPage();
    await page.goto(url);
    // Loading the page (echarts, the first drawing) is not watching: let it settle before the run starts.
    await page.waitForSelector('#status[data-status="running"]');
    await page.waitForTimeout(2000);
    return page;
  }
  const { hostname, port } = new URL(url);
  const req = request({ hostname, port, path: '/api/events' }, (res) => res.resume());
  req.end();
  return { close: async () => void req.destroy() };
}

/** The q-quantile of xs, interpolated between the nearest ranks (the quartiles beside the median). */
function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const below = sorted[Math.floor(at)];
  return below + (sorted[Math.ceil(at)] - below) * (at - Math.floor(at));
}
const percent = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${(100 * (ratio - 1)).toFixed(1)} %`;

/** The 95 % bootstrap interval of the median of xs: medians of 2,000 resamples (seeded, so a report can be re-derived from its pairs). */
function medianInterval(xs: readonly number[]): [number, number] {
  const rng = Rng.fromSeed(1);
  const medians = Array.from({ length: 2000 }, () => median(Array.from(xs, () => xs[rng.nextInt(xs.length)])));
  return [quantile(medians, 0.025), quantile(medians, 0.975)];
}

const runs: Record<'without' | 'watched', RunFigures[]> = { without: [], watched: [] };
await measure(true); // warm-up: caches, the chart renderer, the engines, the browser profile's first use (seconds after its first page)
for (let r = 0; r < repeats; r++) {
  // Alternate which goes first, so a drift of the machine does not favour one side.
  for (const w of r % 2 === 0 ? [false, true] : [true, false]) runs[w ? 'watched' : 'without'].push(await measure(w));
  const [off, on] = [runs.without[r], runs.watched[r]];
  console.log(
    `repeat ${r + 1}: without ${Math.round(off.samplesPerSec)}  with ${Math.round(on.samplesPerSec)} samples/s  (${(on.samplesPerSec / off.samplesPerSec).toFixed(3)}; browser ${(1000 * on.browserShare).toFixed(1)} ms CPU per s of steps)`,
  );
}
await browser?.close();
const without = runs.without.map((m) => m.samplesPerSec);
const watched = runs.watched.map((m) => m.samplesPerSec);
const ratios = watched.map((x, r) => x / without[r]);
const ratiosByEpoch = Array.from({ length: epochs }, (_, i) => runs.watched.map((m, r) => m.samplesPerSecByEpoch[i] / runs.without[r].samplesPerSecByEpoch[i]));
const shares = runs.watched.map((m) => m.browserShare);
const sharesByEpoch = Array.from({ length: epochs }, (_, i) => runs.watched.map((m) => m.browserShareByEpoch[i]));
const a = median(without);
const b = median(watched);
const [low, high] = medianInterval(ratios);
const ms = (seconds: number): string => (1000 * seconds).toFixed(1);
console.log(`\n${epochs} epoch(s) of ${trainRows} rows per run, ${repeats} interleaved pairs, watched by ${watcher}`);
console.log(`median samples/s without the dashboard: ${Math.round(a)}`);
console.log(`median samples/s with it open:         ${Math.round(b)}`);
console.log(`median with/without ratio of adjacent pairs: ${median(ratios).toFixed(3)} (${percent(median(ratios))})`);
console.log(`  95 % bootstrap interval ${low.toFixed(3)} .. ${high.toFixed(3)} (${percent(low)} .. ${percent(high)})`);
console.log(`  by epoch of the run (medians): ${ratiosByEpoch.map((xs, i) => `${i + 1}: ${median(xs).toFixed(3)}`).join(', ')}`);
console.log(
  `  quartiles ${quantile(ratios, 0.25).toFixed(3)} .. ${quantile(ratios, 0.75).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)} .. ${Math.max(...ratios).toFixed(3)}`,
);
console.log(
  `browser CPU during the watched steps: median ${ms(median(shares))} ms per second of steps (${((100 * median(shares)) / availableParallelism()).toFixed(2)} % of the ${availableParallelism()} cores' time)`,
);
console.log(`  by epoch of the run (medians): ${sharesByEpoch.map((xs, i) => `${i + 1}: ${ms(median(xs))}`).join(', ')} ms per second of its steps`);
console.log(
  `training workers' wait for a core of this machine during the steps: median ${ms(median(runs.without.map((m) => m.runQueueWait)))} ms per second of steps without, ${ms(median(runs.watched.map((m) => m.runQueueWait)))} with`,
);
