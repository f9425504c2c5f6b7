/**
 * The dashboard and bench.html in a real browser (Debian's Chromium): a short real run
 * with --dashboard, a page open from the start and one opened mid-run; the finished run
 * through `corefit dashboard --run`; bench.html from disk without network. Screenshots
 * go to test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { artifactPath, browserMissing, launchChromium } from './helpers/browser.js';
import { runCli, startCli } from './helpers/cli.js';
import { freshDirs } from './helpers/temp-dirs.js';

// What the page scripts see; these callbacks run in the browser.
declare const echarts: {
  getInstanceByDom(
    el: unknown,
  ): { getOption(): { series: Array<{ name: string; data: unknown[] }> } | undefined; on(event: string, f: () => void): void } | undefined;
};
declare const document: { getElementById(id: string): { src: string; naturalWidth: number; textContent: string } };
declare const window: Record<string, unknown[]>;
declare const MutationObserver: new (f: () => void) => { observe(target: unknown, opts: unknown): void };

const fresh = freshDirs('corefit-browser-');

interface Series {
  readonly name: string;
  readonly data: unknown[];
}

/** The series a chart of the page draws now. */
function chartSeries(page: Page, id: string): Promise<Series[]> {
  return page.evaluate((chartId) => {
    // Before its first drawing a chart has no option yet.
    const series = echarts.getInstanceByDom(document.getElementById(chartId))?.getOption()?.series ?? [];
    return series.map((s) => ({ name: s.name, data: s.data }));
  }, id);
}

async function points(page: Page, id: string, name: string): Promise<unknown[]> {
  return (await chartSeries(page, id)).find((s) => s.name === name)?.data ?? [];
}

async function lossPoints(page: Page): Promise<number> {
  return (await points(page, 'loss-chart', 'train loss')).length;
}

/** The y of the BCE floor line, or undefined when the chart has none. */
async function floorLine(page: Page): Promise<number | undefined> {
  const floor = (await chartSeries(page, 'loss-chart')).find((s) => s.name.startsWith('BCE floor'));
  return floor === undefined ? undefined : (floor.data[0] as [number, number])[1];
}

async function until(what: string, check: () => Promise<boolean>, limitMs = 90_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(browserMissing !== undefined)(`in Chromium${browserMissing === undefined ? '' : ` (skipped: ${browserMissing})`}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  let runDir: string;
  let start: Record<string, unknown>;

  it('train --dashboard: a point per epoch, every worker, reconstructions that change between epochs, and a page opened mid-run sees the earlier epochs', async () => {
    runDir = fresh();
    // The page is ready before the run starts, and epochs take the full training set: both pages
    // must attach while the run is still young, also on a loaded machine.
    const first = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
    const run = startCli(['train', '--epochs', '3', '--test-rows', '2000', '--dashboard', '--json', '--out', runDir], {}, 240_000);
    const announced = await run.line((l) => l.type === 'dashboard');
    expect(announced?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const url = announced!.url as string;

    const errors: string[] = [];
    first.on('pageerror', (e) => errors.push(e.message));
    // This page redraws its charts on every change (the default waits 10 s between redraws to spare the run's CPU).
    await first.goto(`${url}?refresh=0.2`);
    await first.waitForFunction(() => echarts.getInstanceByDom(document.getElementById('loss-chart')) !== undefined);
    // Record every drawing of the loss chart and every new reconstruction picture.
    await first.evaluate(() => {
      window.seen = [];
      window.pictures = [];
      const chart = echarts.getInstanceByDom(document.getElementById('loss-chart'))!;
      chart.on('finished', () => window.seen.push(chart.getOption()?.series.find((s) => s.name === 'train loss')?.data.length ?? 0));
      const img = document.getElementById('reconstructions');
      new MutationObserver(() => window.pictures.push(img.src)).observe(img, { attributes: true, attributeFilter: ['src'] });
    });
    start = (await run.line((l) => l.type === 'start'))!;

    // Mid-run: once the first page shows an epoch, a second page opens and must show it at once.
    await until('the first epoch on the page', async () => (await lossPoints(first)) >= 1);
    const shownBefore = await lossPoints(first);
    const second = await browser.newPage();
    await second.goto(url);
    await until('the second page to draw', async () => (await lossPoints(second)) >= shownBefore);
    const midRun = await second.evaluate(() => document.getElementById('status').textContent);
    expect(shownBefore).toBeLessThan(3);
    expect(midRun).toBe('running');
    expect((await points(second, 'loss-chart', 'train loss within the epoch')).length).toBeGreaterThan(0);

    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    await until('the end of the run on the page', async () => (await first.evaluate(() => document.getElementById('status').textContent)) === 'completed');

    // The loss chart gained one point per epoch, and ends with 3 and the floor.
    const seen = (await first.evaluate(() => window.seen)) as number[];
    const distinct = seen.filter((n, i) => i === 0 || n !== seen[i - 1]);
    expect(distinct[distinct.length - 1]).toBe(3);
    for (let i = 1; i < distinct.length; i++) expect(distinct[i] - distinct[i - 1]).toBe(1);
    expect(distinct[0]).toBeLessThanOrEqual(1);
    expect(await lossPoints(first)).toBe(3);
    expect((await points(first, 'loss-chart', 'test loss')).length).toBe(3);
    expect(await floorLine(first)).toBeCloseTo(start.bce_floor as number, 10);

    // Throughput: every worker, per epoch, adding up to the total.
    const throughput = await chartSeries(first, 'throughput-chart');
    const workers = start.workers as number;
    const perWorker = throughput.filter((s) => s.name.startsWith('worker '));
    expect(perWorker.map((s) => s.name)).toEqual(Array.from({ length: workers }, (_, w) => `worker ${w + 1}`));
    const total = throughput.find((s) => s.name === 'total')!.data as number[];
    expect(total).toHaveLength(3);
    for (let e = 0; e < 3; e++) {
      const parts = perWorker.map((s) => s.data[e] as number);
      for (const p of parts) expect(p).toBeGreaterThan(0);
      expect(parts.reduce((a, b) => a + b, 0) / total[e]).toBeCloseTo(1, 2);
    }

    // The reconstructions changed between epochs (pictures travel in the pause after an
    // epoch, at most every 10 s, so a short run brings some epochs' only), and the last is drawn.
    const pictures = (await first.evaluate(() => window.pictures)) as string[];
    expect(new Set(pictures).size).toBeGreaterThanOrEqual(2);
    expect(await first.evaluate(() => document.getElementById('reconstructions').naturalWidth)).toBeGreaterThan(0);
    expect(await first.evaluate(() => document.getElementById('reconstructions-epoch').textContent)).toBe('(epoch 3)');
    expect(errors).toEqual([]);

    const shot = await artifactPath('dashboard-live.png');
    await first.screenshot({ path: shot, fullPage: true });
    await second.close();
    await first.close();
  });

  it('dashboard --run DIR shows the finished run the same way', async () => {
    const serving = startCli(['dashboard', '--run', runDir, '--json']);
    const announced = await serving.line((l) => l.type === 'dashboard');
    const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
    await page.goto(announced!.url as string);
    await until('the finished run on the page', async () => (await lossPoints(page)) === 3);
    expect(await floorLine(page)).toBeCloseTo(start.bce_floor as number, 10);
    const perWorker = (await chartSeries(page, 'throughput-chart')).filter((s) => s.name.startsWith('worker '));
    expect(perWorker).toHaveLength(start.workers as number);
    expect(await page.evaluate(() => document.getElementById('reconstructions').src)).toMatch(/^data:image\/png;base64,/);
    expect(await page.evaluate(() => document.getElementById('status').textContent)).toBe('finished run');
    await page.screenshot({ path: await artifactPath('dashboard-run.png'), fullPage: true });
    await page.close();
    serving.child.kill('SIGINT');
    expect((await serving.done).code).toBe(0);
  });

  it('bench.html opens from disk without network and draws the speedup chart', async () => {
    const dir = fresh();
    const bench = await runCli([
      'bench',
      '--quick',
      '--workers',
      '1,2',
      '--batch-sizes',
      '100',
      '--steps',
      '5',
      '--repeats',
      '1',
      '--target',
      '0',
      '--out',
      dir,
    ]);
    expect(bench.code, bench.stderr).toBe(0);
    const context = await browser.newContext({ offline: true });
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    const page = await context.newPage();
    await page.goto(`file://${dir}/bench.html`);
    await page.waitForFunction(() => echarts.getInstanceByDom(document.getElementById('speedup')) !== undefined);
    const speedup = await chartSeries(page, 'speedup');
    // The measured speedup (efficiency against the ceiling in its name), its independent ceiling, the ideal line.
    expect(speedup.map((s) => s.name)).toEqual([expect.stringMatching(/^batch 100 \(2w \d+ % of ceiling\)$/), 'batch 100 independent ceiling', 'ideal']);
    for (const series of speedup.slice(0, 2)) {
      expect(series.data).toHaveLength(2);
      expect((series.data[0] as number[])[1]).toBe(1);
    }
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    await page.screenshot({ path: await artifactPath('bench-html.png'), fullPage: true });
    await context.close();
  });
});
