/**
 * The batch-scaling study (`corefit bench --study batch-scaling`) on a few rows and one
 * epoch: every batch size under every lr rule, the table, and diverged runs as results.
 */
import { describe, expect, it } from 'vitest';
import { batchScalingMarkdown, runBatchScalingStudy } from '../src/bench/batch-scaling.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { runCli } from './helpers/cli.js';

const small = { data: undefined, engine: 'auto' as const, epochs: 1, trainRows: 1200, testRows: 1000, log: (): void => {} };

describe('the batch-scaling study', () => {
  it('trains each batch size without scaling, with linear scaling and with scaling + warmup', async () => {
    const report = await runBatchScalingStudy({ ...small, spec: DEFAULT_SPEC, batchSizes: [100, 400] });
    expect(report.runs.map((r) => [r.batchSize, r.rule, r.peakLr, r.warmupSteps, r.steps])).toEqual([
      [100, 'none', 1e-3, 0, 12],
      [100, 'linear', 1e-3, 0, 12],
      [100, 'linear + warmup', 1e-3, 12, 12],
      [400, 'none', 1e-3, 0, 3],
      [400, 'linear', 4e-3, 0, 3],
      [400, 'linear + warmup', 4e-3, 3, 3],
    ]);
    // At the base batch the three rules are the same lr at every step, so the same run.
    const base = report.runs.filter((r) => r.batchSize === 100).map((r) => r.testLoss);
    expect(new Set(base).size).toBe(1);
    expect(report.runs[4].testLoss).not.toBe(report.runs[3].testLoss);
    for (const r of report.runs) {
      expect(r.excess).toBeCloseTo(r.testLoss! - r.floor!, 12);
      expect(r.seconds).toBeGreaterThan(0);
    }

    const md = batchScalingMarkdown(report, 'corefit bench --study batch-scaling');
    expect(md).toContain('`corefit bench --study batch-scaling`');
    expect(md).toContain(`${report.machine.cores} cores`);
    const rows = md.split('\n').filter((l) => l.startsWith('|'));
    expect(rows).toHaveLength(2 + 6);
    expect(rows[0]).toMatch(/^\| batch \| lr scaling +\| peak lr \| warmup steps \| steps \| test BCE \| excess \| wall s \|$/);
    expect(rows[7]).toMatch(/^\| +400 \| linear \+ warmup \| +0\.0040 \| +3 \| +3 \| +0\.\d{4} \| +0\.\d{4} \| +\d+\.\d \|$/);
  });

  it('reports a run that diverged and carries on with the next', async () => {
    const explosive = { ...DEFAULT_SPEC, optimizer: { ...DEFAULT_SPEC.optimizer, learningRate: 1e6 } };
    const report = await runBatchScalingStudy({ ...small, spec: explosive, batchSizes: [100] });
    expect(report.runs).toHaveLength(3);
    for (const r of report.runs) expect([r.testLoss, r.excess, r.divergedAt]).toEqual([null, null, 2]);
    expect(batchScalingMarkdown(report, 'c')).toMatch(/\| +– \| +– \| +\d+\.\d \| diverged at step 2 \|/);
  });

  it('refuses the flags of the throughput sweep', async () => {
    const run = await runCli(['bench', '--study', 'batch-scaling', '--workers', '1,2', '--quick']);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/--study batch-scaling does not take --workers, --quick/);
  });
});
