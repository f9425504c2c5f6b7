/**
 * `corefit train` and `corefit eval` as a user runs them: the README's main job on the
 * real MNIST, JSON output, checkpoints that eval reads, and exact resume.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeStatus } from '../src/engine/native.js';
import { jsonLines, runCli } from './helpers/cli.js';

const small = ['--train-rows', '2000', '--test-rows', '500', '--batch-size', '100'];

describe('corefit train', () => {
  it('trains the default model for one epoch on the real MNIST below a test BCE of 0.16', async () => {
    const run = await runCli(['train', '--epochs', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const lines = jsonLines(run.stdout);
    const start = lines.find((l) => l.type === 'start')!;
    const epoch = lines.find((l) => l.type === 'epoch')!;
    const summary = lines[lines.length - 1];
    expect(start.train_rows).toBe(60000);
    expect(start.test_rows).toBe(10000);
    // Where the addon was built (npm install needs only a C++ compiler), auto must pick it, and name its kernels.
    if (nativeStatus().available) {
      expect(summary.engine).toBe('native');
      expect(['avx512', 'avx2', 'portable']).toContain(summary.backend);
    }
    expect(summary.type).toBe('summary');
    for (const key of ['epoch', 'train_loss', 'test_loss', 'bce_floor', 'samples_per_sec', 'engine', 'backend', 'workers', 'batch_size', 'seconds']) {
      expect(epoch, key).toHaveProperty(key);
    }
    for (const key of [
      'train_loss',
      'test_loss',
      'bce_floor',
      'samples_per_sec',
      'engine',
      'backend',
      'workers',
      'batch_size',
      'training_seconds',
      'wall_seconds',
    ]) {
      expect(summary, key).toHaveProperty(key);
    }
    expect(summary.test_loss as number).toBeLessThan(0.16);
    expect(summary.bce_floor as number).toBeCloseTo(0.0584, 3);
    expect(epoch.excess as number).toBeCloseTo((epoch.train_loss as number) - (epoch.bce_floor as number), 12);
  });

  it('writes a checkpoint that eval reads to the same test loss, and resumes bit for bit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'corefit-train-'));
    const straight = join(dir, 'straight');
    const resumed = join(dir, 'resumed');
    const full = await runCli(['train', ...small, '--epochs', '2', '--out', straight, '--json']);
    expect(full.code, full.stderr).toBe(0);
    const first = await runCli(['train', ...small, '--epochs', '1', '--out', resumed, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['train', '--resume', resumed, '--epochs', '2', '--out', resumed, '--workers', '1', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const a = await readFile(join(straight, 'weights.bin'));
    const b = await readFile(join(resumed, 'weights.bin'));
    expect(a.length).toBe(221_868 * 4);
    expect(a.equals(b)).toBe(true);

    const trained = jsonLines(full.stdout)
      .filter((l) => l.type === 'epoch')
      .at(-1)!;
    const evaluated = await runCli(['eval', '--checkpoint', straight, '--test-rows', '500', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const e = jsonLines(evaluated.stdout)[0];
    expect(e.test_loss).toBe(trained.test_loss);
    expect(e.excess).toBeCloseTo((e.test_loss as number) - (e.bce_floor as number), 12);
  });

  it("refuses the seed question's model before training, saying why", async () => {
    const run = await runCli(['train', '--model', 'examples/seed-question.json', '--epochs', '1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/softmax/);
    expect(run.stderr).toMatch(/training did not start/);
    expect(run.stdout).not.toMatch(/epoch 1/);
  });

  it('has --help for every command, with the exit codes', async () => {
    for (const command of ['train', 'eval', 'bench', 'lint']) {
      const run = await runCli([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Exit codes:/);
    }
    const train = await runCli(['train', '--help']);
    for (const flag of ['--epochs', '--batch-size', '--seed', '--lr', '--model', '--data', '--out', '--resume', '--json', '--workers', '--shards']) {
      expect(train.stdout).toContain(flag);
    }
  });
});
