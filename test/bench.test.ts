/**
 * `corefit bench --quick` as CI's smoke test: the report is complete and consistent.
 * It asserts no speed — only that every cell is there and the arithmetic holds.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../src/bench/bench.js';
import { nativeStatus } from '../src/engine/native.js';
import { CATEGORY_COLORS } from '../src/report/chart.js';
import { markerHeights } from './helpers/chart-pixels.js';
import { jsonLines, runCli } from './helpers/cli.js';
import { writeMnistSubset } from './helpers/small-data.js';

/**
 * The first rows of MNIST's train and test sets, and batches of 100 and 300: small enough
 * that the report is quick on either engine (tfjs too, where the addon could not be built).
 */
const ROWS = { train: 3000, test: 1000 };
let data: string;

beforeAll(async () => {
  data = await writeMnistSubset(await mkdtemp(join(tmpdir(), 'corefit-bench-data-')), ROWS);
});

describe('corefit bench --quick', () => {
  it('writes a complete, consistent report with tables and charts', async () => {
    const out = await mkdtemp(join(tmpdir(), 'corefit-bench-'));
    const run = await runCli(['bench', '--quick', '--workers', '1,2', '--batch-sizes', '100,300', '--data', data, '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);

    const report = JSON.parse(await readFile(join(out, 'bench.json'), 'utf8')) as BenchReport;
    expect(report.options.batchSizes).toEqual([100, 300]);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.node).toBe(process.version);
    for (const batchSize of report.options.batchSizes) {
      for (const workers of [1, 2]) {
        const cell = report.cells.find((c) => c.batchSize === batchSize && c.workers === workers);
        expect(cell, `cell ${workers}/${batchSize}`).toBeDefined();
        const samples = report.samples.filter((s) => s.batchSize === batchSize && s.workers === workers);
        expect(samples).toHaveLength(report.options.repeats);
        const rates = samples.map((s) => s.samplesPerSec).sort((a, b) => a - b);
        expect(cell!.samplesPerSec).toBe(rates[(rates.length - 1) >> 1]);
        for (const s of samples) {
          expect(s.independent.trainers).toHaveLength(workers);
          expect(s.independent.samplesPerSec).toBeCloseTo(
            s.independent.trainers.reduce((a, b) => a + b, 0),
            6,
          );
          expect(s.independent.breakdown.compute).toBeGreaterThan(0);
        }
        const ceilings = samples.map((s) => s.independent.samplesPerSec).sort((a, b) => a - b);
        expect(cell!.ceiling).toBe(ceilings[(ceilings.length - 1) >> 1]);
        const ratios = samples.map((s) => s.samplesPerSec / s.independent.samplesPerSec).sort((a, b) => a - b);
        expect(cell!.efficiency).toBe(ratios[(ratios.length - 1) >> 1]);
        const one = report.cells.find((c) => c.batchSize === batchSize && c.workers === 1)!;
        expect(cell!.ceilingSpeedup).toBeCloseTo(cell!.ceiling / one.samplesPerSec, 12);
        if (workers === 1) expect([cell!.speedup, cell!.efficiency, cell!.ceiling]).toEqual([1, 1, cell!.samplesPerSec]);
        const b = cell!.breakdown;
        expect(b.compute).toBeGreaterThan(0);
        expect(b.compute + b.waitSlowest + b.reduceUpdate).toBeLessThanOrEqual(b.step * 1.0001);
      }
      if (report.machine.engine === 'native') expect(report.ceiling.find((c) => c.batchSize === batchSize)).toBeDefined();
    }
    // Repetitions are interleaved: consecutive samples never repeat the same cell.
    for (let i = 1; i < report.samples.length; i++) {
      const [a, b] = [report.samples[i - 1], report.samples[i]];
      expect(a.workers === b.workers && a.batchSize === b.batchSize).toBe(false);
    }
    expect(report.timeToQuality.map((t) => t.batchSize)).toEqual([100, 300]);
    expect(report.options.target).toBe(0.12);
    for (const t of report.timeToQuality) {
      expect(t.curve.length).toBe(t.epochs);
      expect(t.reached).toBe(t.curve[t.curve.length - 1].testLoss <= t.target);
    }

    const md = await readFile(join(out, 'bench.md'), 'utf8');
    expect(md).toMatch(/## Global batch 100/);
    expect(md).toMatch(/## Global batch 300/);
    expect(md).toMatch(/## Time to test loss/);
    expect(md).toMatch(/\| workers \| samples\/s \| step ms \| speedup \| independent ceiling \| ceiling speedup \| efficiency \|/);
    for (const chart of ['speedup.png', 'throughput.png', 'quality.png']) {
      const png = PNG.sync.read(await readFile(join(out, chart)));
      expect(png.width).toBeGreaterThan(100);
      expect((await stat(join(out, chart))).size).toBeGreaterThan(5000);
    }
    // Throughput starts at 0: the heights of one worker's two points above the axis compare as their rates.
    const one = report.cells.filter((c) => c.workers === 1).map((c) => c.samplesPerSec);
    const heights = markerHeights(PNG.sync.read(await readFile(join(out, 'throughput.png'))), CATEGORY_COLORS[0]);
    expect(heights.low / heights.high).toBeCloseTo(Math.min(...one) / Math.max(...one), 1);
    const lines = jsonLines(run.stdout);
    expect(lines.filter((l) => l.type === 'cell')).toHaveLength(report.cells.length);
    expect(lines.at(-1)!.type).toBe('summary');
  });
});

// On all of MNIST, --quick's time-to-quality target is one its 2 epochs reach at the seed's batch
// size. Two epochs of the full data take minutes on tfjs, so this needs the native engine.
const native = nativeStatus();
describe.skipIf(!native.available)(`corefit bench --quick on the full data${native.available ? '' : ` (skipped: ${native.reason})`}`, () => {
  it('reaches its target at batch 100 in 2 epochs', async () => {
    const out = await mkdtemp(join(tmpdir(), 'corefit-bench-'));
    const run = await runCli(['bench', '--quick', '--workers', '2', '--batch-sizes', '100', '--out', out, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(out, 'bench.json'), 'utf8')) as BenchReport;
    expect(report.timeToQuality[0].batchSize).toBe(100);
    expect(report.timeToQuality[0].reached).toBe(true);
  });
});
