/**
 * What watching a run costs it: training samples/s with the dashboard served and a
 * Chromium page open on it, against the same run without, interleaved in one process
 * so both see the same machine. Pictures are drawn in both (as with --out), so the
 * difference is the server, the event stream and the page.
 *
 *   npm run bench:dashboard    (node dist/bench/dashboard-cost.js [--repeats 3] [--epochs 2] [--train-rows 60000])
 *
 * The page needs Debian's chromium at /usr/bin/chromium; without it, an event-stream
 * reader in this process stands in for the page, and the report says so.
 */
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from './chromium.js';
import { loadDataset } from '../src/data/dataset.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { RunView } from '../src/dashboard/run-view.js';
import { startDashboard } from '../src/dashboard/server.js';
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
const watcher = browser === undefined ? `an event-stream reader (${chromiumMissing})` : 'a Chromium page';

/** Mean training samples/s over the epochs of one run (steps only, as every epoch line reports it). */
async function samplesPerSec(watched: boolean): Promise<number> {
  const view = new RunView();
  const dashboard = watched ? await startDashboard({ view }) : undefined;
  const page = dashboard === undefined ? undefined : await openWatcher(dashboard.url);
  try {
    const result = await train({ dataset, epochs, trainRows, pictures: true, onEvent: (e) => dashboard?.publish(e) });
    return result.epochs.reduce((s, e) => s + e.samples_per_sec, 0) / result.epochs.length;
  } finally {
    await page?.close();
    await dashboard?.close();
  }
}

async function openWatcher(url: string): Promise<{ close(): Promise<void> }> {
  if (browser !== undefined) {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
    await page.goto(url);
    return page;
  }
  const { hostname, port } = new URL(url);
  const req = request({ hostname, port, path: '/api/events' }, (res) => res.resume());
  req.end();
  return { close: async () => void req.destroy() };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const without: number[] = [];
const watched: number[] = [];
await samplesPerSec(false); // warm-up: caches, the chart renderer, the engines
for (let r = 0; r < repeats; r++) {
  // Alternate which goes first, so a drift of the machine does not favour one side.
  for (const w of r % 2 === 0 ? [false, true] : [true, false]) (w ? watched : without).push(await samplesPerSec(w));
  console.log(`repeat ${r + 1}: without ${Math.round(without[r])}  with ${Math.round(watched[r])} samples/s`);
}
await browser?.close();
const a = median(without);
const b = median(watched);
console.log(`\n${epochs} epochs of ${trainRows} rows, ${repeats} interleaved repeats, watched by ${watcher}`);
console.log(`median samples/s without the dashboard: ${Math.round(a)}`);
console.log(`median samples/s with it open:         ${Math.round(b)}`);
console.log(`with / without: ${(b / a).toFixed(3)} (${(100 * (b / a - 1)).toFixed(1)} %)`);
