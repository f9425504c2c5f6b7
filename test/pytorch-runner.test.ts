import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { probePytorch, runPytorchPeer } from '../src/bench/pytorch-runner.js';
import { writeMnistSubset } from './helpers/small-data.js';

const probe = await probePytorch();
const torchMissing = 'unavailable' in probe;

describe('runPytorchPeer without PyTorch', () => {
  it('answers unavailable, naming the interpreter, when python cannot run', async () => {
    const result = await runPytorchPeer({
      python: '/nonexistent/python3',
      run: { mode: 'throughput', threads: 1, batch: 10, steps: 1 },
    });
    expect(result).toEqual({ unavailable: expect.stringContaining('/nonexistent/python3') });
  });

  it('answers unavailable when the interpreter has no torch', async () => {
    // A stand-in python that fails the import the way python3 without torch does.
    const dir = mkdtempSync(join(tmpdir(), 'corefit-peer-'));
    const python = join(dir, 'python3');
    writeFileSync(python, `#!/bin/sh\necho "ModuleNotFoundError: No module named 'torch'" >&2\nexit 1\n`, { mode: 0o755 });
    try {
      const result = await runPytorchPeer({ python, run: { mode: 'time-to-quality', batch: 100, epochs: 1 } });
      expect(result).toEqual({ unavailable: `${python} cannot import torch: ModuleNotFoundError: No module named 'torch'` });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe.skipIf(torchMissing)('runPytorchPeer with PyTorch', () => {
  /**
   * The first tenth of MNIST: at batch 100 an epoch is 60 steps, as many as the full data
   * at batch 1000, so the first epoch learns as far; and the peer loads it in a moment.
   */
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await writeMnistSubset(mkdtempSync(join(tmpdir(), 'corefit-peer-data-')), { train: 6000, test: 1000 });
    return () => rmSync(dataDir, { recursive: true });
  });

  it('measures throughput of one process', async () => {
    const result = await runPytorchPeer({ dataDir, run: { mode: 'throughput', threads: 1, batch: 50, steps: 5, warmup: 1 } });
    if ('unavailable' in result) throw new Error(result.unavailable);
    expect(result).toMatchObject({ peer: 'pytorch', mode: 'throughput', workers: 1, batch: 50, steps: 5 });
    expect(result.samplesPerSec).toBeCloseTo((5 * 50) / result.seconds, 6);
  });

  it('measures DDP over two processes on loopback', async () => {
    const result = await runPytorchPeer({ dataDir, run: { mode: 'ddp', processes: 2, batch: 20, steps: 3, warmup: 1 } });
    if ('unavailable' in result) throw new Error(result.unavailable);
    expect(result).toMatchObject({ mode: 'ddp', workers: 2, batch: 20, steps: 3 });
    expect(result.samplesPerSec).toBeGreaterThan(0);
  });

  it('reports test BCE per epoch, falling from the untrained value', async () => {
    const result = await runPytorchPeer({ dataDir, run: { mode: 'time-to-quality', batch: 100, epochs: 2 } });
    if ('unavailable' in result) throw new Error(result.unavailable);
    expect(result.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    const [first, second] = result.epochs;
    // An untrained sigmoid output near 0.5 scores ln 2 ≈ 0.69; one epoch must do far better.
    expect(first.testBce).toBeLessThan(0.3);
    expect(second.testBce).toBeLessThan(first.testBce);
    expect(second.wallSeconds).toBeGreaterThan(first.wallSeconds);
  });

  it("turns a failing run into unavailable with the script's message", async () => {
    const result = await runPytorchPeer({ dataDir: '/nonexistent', run: { mode: 'throughput', threads: 1, batch: 10, steps: 1 } });
    expect(result).toEqual({ unavailable: expect.stringMatching(/exited with 4.*cannot read MNIST/s) });
  });

  it('stops a run that outlives its timeout', async () => {
    const result = await runPytorchPeer({ dataDir, timeoutMs: 200, run: { mode: 'ddp', processes: 2, batch: 20, steps: 100000 } });
    expect(result).toEqual({ unavailable: expect.stringContaining('timed out') });
  });
});
