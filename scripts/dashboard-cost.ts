/**
 * What watching a run costs it: training samples/s with the dashboard served and a
 * Chromium page open on it, against the same run without, interleaved in one process
 * so both see the same machine. Pictures are drawn in both (as with --out), so the
 * difference is the server, the event stream and the page.
 *
 *   npm run bench:dashboard    (node dist/scripts/dashboard-cost.js [--repeats 3] [--epochs 2] [--train-rows 60000])
 *
 * Shared machines drift by more than the effect, so the figure is the median of the
 * with/without ratios of adjacent pairs (their quartiles and range beside it), and the
 * CPU time the browser took during the watched runs' steps, per second of steps: on a
 * machine whose every core trains, a millisecond taken from any one worker delays the
 * whole synchronous step, so that is about the share of samples/s watching can cost.
 * It is the sharper figure: on a shared 2-core machine a pair's ratio spreads by some
 * ±10 %, so the median of 9 pairs cannot tell a 2 % difference apart.
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
import { median } from '../src/bench/summary.js';
import { loadDataset } from '../src/data/dataset.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
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
  let ns = 0;
  for (const pid of parent.keys()) {
    if (!isMine(pid)) continue;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The process or thread ended while being read.
    }
  }
  return ns / 1e9;
}

interface RunFigures {
  readonly samplesPerSec: number;
  /** Browser CPU seconds during the steps, per second of steps: over the run, and in each epoch's. */
  readonly browserShare: number;
  readonly browserShareByEpoch: readonly number[];
}

/** Browser CPU and wall time over each stretch of steps: from `start` or `pictures` (the last event before steps) to `epoch`. */
class StepsWindow {
  private from: { cpu: number; at: number } | undefined;
  readonly epochs: Array<{ cpu: number; seconds: number }> = [];
  constructor(private readonly watched: boolean) {}
  onEvent(e: TrainEvent): void {
    if (!this.watched) return;
    if (e.type === 'start' || e.type === 'pictures') this.from = { cpu: childCpuSeconds(), at: performance.now() };
    if (e.type === 'epoch' && this.from !== undefined) {
      this.epochs.push({ cpu: childCpuSeconds() - this.from.cpu, seconds: (performance.now() - this.from.at) / 1000 });
      this.from = undefined;
    }
  }
  share(): number {
    const seconds = this.epochs.reduce((s, w) => s + w.seconds, 0);
    return seconds === 0 ? 0 : this.epochs.reduce((s, w) => s + w.cpu, 0) / seconds;
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
      browserShare: steps.share(),
      browserShareByEpoch: steps.epochs.map((w) => w.cpu / w.seconds),
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
const without: number[] = [];
const watched: number[] = [];
const ratios: number[] = [];
const shares: number[] = [];
const sharesByEpoch: number[][] = [];
await measure(true); // warm-up: caches, the chart renderer, the engines, the browser profile's first use (seconds after its first page)
for (let r = 0; r < repeats; r++) {
  // Alternate which goes first, so a drift of the machine does not favour one side.
  for (const w of r % 2 === 0 ? [false, true] : [true, false]) {
    const m = await measure(w);
    (w ? watched : without).push(m.samplesPerSec);
    if (w) shares.push(m.browserShare);
    if (w) m.browserShareByEpoch.forEach((share, i) => (sharesByEpoch[i] ??= []).push(share));
  }
  ratios.push(watched[r] / without[r]);
  console.log(
    `repeat ${r + 1}: without ${Math.round(without[r])}  with ${Math.round(watched[r])} samples/s  (${ratios[r].toFixed(3)}; browser ${(1000 * shares[r]).toFixed(1)} ms CPU per s of steps)`,
  );
}
await browser?.close();
const a = median(without);
const b = median(watched);
console.log(`\n${epochs} epoch(s) of ${trainRows} rows per run, ${repeats} interleaved pairs, watched by ${watcher}`);
console.log(`median samples/s without the dashboard: ${Math.round(a)}`);
console.log(`median samples/s with it open:         ${Math.round(b)}`);
console.log(`median with/without ratio of adjacent pairs: ${median(ratios).toFixed(3)} (${percent(median(ratios))})`);
console.log(
  `  quartiles ${quantile(ratios, 0.25).toFixed(3)} .. ${quantile(ratios, 0.75).toFixed(3)}, range ${Math.min(...ratios).toFixed(3)} .. ${Math.max(...ratios).toFixed(3)}`,
);
console.log(
  `browser CPU during the watched steps: median ${(1000 * median(shares)).toFixed(1)} ms per second of steps (${((100 * median(shares)) / availableParallelism()).toFixed(2)} % of the ${availableParallelism()} cores' time)`,
);
console.log(
  `  by epoch of the run (medians): ${sharesByEpoch.map((xs, i) => `${i + 1}: ${(1000 * median(xs)).toFixed(1)}`).join(', ')} ms per second of its steps (the first takes in the run's start)`,
);
