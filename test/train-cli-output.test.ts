/**
 * What `corefit train` tells its user besides the numbers: warnings for options that
 * are allowed but probably not meant, wall time beside training time, which floor each
 * excess is measured from, and lines that fit a narrow terminal.
 */
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitFields } from '../src/cli/fit-width.js';
import { progressLayout } from '../src/cli/progress-bar.js';
import { jsonLines, runCli } from './helpers/cli.js';
import { writeSmallDataSet } from './helpers/small-data.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-train-output-');
let data: string;
beforeAll(async () => {
  data = await writeSmallDataSet(freshDir());
});
const tiny = (): string[] => ['--data', data, '--batch-size', '100', '--epochs', '1'];

describe('corefit train says', () => {
  it('that more workers than cores share them, and reports wall time and training time apart', async () => {
    const workers = availableParallelism() + 1;
    const run = await runCli(['train', ...tiny(), '--workers', String(workers), '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`corefit: warning: --workers ${workers} is more than the ${availableParallelism()} cores here`);
    const lines = jsonLines(run.stdout);
    expect(lines[0]).toMatchObject({ type: 'start', warnings: [expect.stringContaining(`--workers ${workers} is more than`)] });
    const summary = lines.at(-1)!;
    expect(summary.type).toBe('summary');
    expect(summary.training_seconds as number).toBeGreaterThan(0);
    // The wall time holds the training and the start-up before it (Node, data, workers).
    expect(summary.wall_seconds as number).toBeGreaterThan(summary.training_seconds as number);
  });

  it('that a resumed run without --out saves nothing, before it trains', async () => {
    const dir = freshDir();
    expect((await runCli(['train', ...tiny(), '--workers', '1', '--out', dir])).code).toBe(0);
    const run = await runCli(['train', '--data', data, '--resume', dir, '--epochs', '2', '--workers', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`corefit: warning: --resume without --out: this run continues ${dir} but saves nothing; add --out ${dir}`);
  });

  it('which floor is which, and "1 epoch"', async () => {
    const run = await runCli(['train', ...tiny(), '--workers', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^BCE floor: train \d\.\d{4}, test \d\.\d{4} /m);
    expect(run.stdout).toMatch(/^epoch 1: train \d\.\d{4} \(excess \d\.\d{4}\) {2}test \d\.\d{4} \(excess \d\.\d{4}\)/m);
    expect(run.stdout).toMatch(/^done: 1 epoch in \d+\.\d s of training, \d+\.\d s wall time with start-up$/m);
    expect(run.stderr).not.toContain('warning');
  });
});

describe('lines fit a narrow terminal', () => {
  const fields = ['epoch 12: train 0.1234 (excess 0.0650)', 'test 0.1200 (excess 0.0619)', '123,456 samples/s', '12.3 s'];

  it('wrap between fields, never inside one, within the width', () => {
    const text = fitFields(fields, 50);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(50);
    expect(text.replace(/\n {4}/g, '  ')).toBe(fields.join('  '));
    expect(fitFields(fields, undefined)).toBe(fields.join('  '));
    expect(fitFields(fields, 200)).toBe(fields.join('  '));
  });

  it.each([40, 60, 80, 100, 200])('the progress bar keeps its counts, samples/s and ETA within %i columns', (width) => {
    const { format, barsize } = progressLayout(12, 600, true, width);
    // The line as cli-progress draws it with the widest values.
    const line = format
      .replace('{bar}', '#'.repeat(barsize))
      .replace('{value}', '600')
      .replace('{total}', '600')
      .replace('{loss}', '0.1234')
      .replace('{excess}', ' (excess 0.1234)')
      .replace('{rate}', '9,999,999')
      .replace('{eta_s}', '9999');
    expect(line).toContain('samples/s | ETA 9999s');
    if (width >= 80) expect(line.length).toBeLessThan(width);
    if (width >= 100) expect(line).toContain('excess');
    expect(barsize === 0 || barsize >= 10).toBe(true);
  });
});
