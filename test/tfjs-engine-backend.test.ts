import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { limitTensorflowThreads } from '../src/engine/tensorflow-threads.js';
import { selectTfjsBackend } from '../src/engine/tfjs-backend.js';
import { createTfjsEngine } from '../src/engine/tfjs.js';
import { EngineError } from '../src/errors.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { Rng } from '../src/rng.js';
import { sameBits } from './helpers/float-arrays.js';

/** Whether @tensorflow/tfjs-node loads on this machine (it usually does not: no libtensorflow download). */
async function tensorflowLoads(): Promise<boolean> {
  const specifier = '@tensorflow/tfjs-node';
  return import(specifier).then(
    () => true,
    () => false,
  );
}

describe('selectTfjsBackend', () => {
  it('selects cpu and wasm on request', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      const selected = await selectTfjsBackend(backend);
      expect(selected.backend).toBe(backend);
      expect(selected.tf.getBackend()).toBe(backend);
      expect(selected.note).toBeUndefined();
    }
  });

  it('uses tensorflow when tfjs-node loads, and otherwise says why and how to get it', async () => {
    if (await tensorflowLoads()) {
      expect((await selectTfjsBackend('tensorflow')).backend).toBe('tensorflow');
      expect(await selectTfjsBackend('auto')).toMatchObject({ backend: 'tensorflow', note: undefined });
      return;
    }
    const refused = selectTfjsBackend('tensorflow');
    await expect(refused).rejects.toThrow(EngineError);
    await expect(refused).rejects.toMatchObject({ hint: expect.stringContaining('npm rebuild @tensorflow/tfjs-node') });
    const auto = await selectTfjsBackend('auto');
    expect(auto.backend).toBe('wasm');
    expect(auto.note).toMatch(
      /^tfjs runs on the wasm backend; skipped: tensorflow \(.+\)\. For the faster tensorflow backend, run `npm rebuild @tensorflow\/tfjs-node`/,
    );
  });
});

describe('the tfjs engine in worker threads', () => {
  const engineModule = join(PACKAGE_ROOT, 'dist', 'src', 'engine', 'tfjs.js');
  const spec = DEFAULT_SPEC;
  const params = new Float32Array(paramLayout(spec).size);
  glorotUniformInit(paramLayout(spec), params, Rng.fromSeed(1));
  const rng = Rng.fromSeed(2);
  const data = { x: Float32Array.from({ length: 20 * 784 }, () => rng.nextFloat()), labels: new Uint8Array(20), features: 784 };
  const rows = Int32Array.of(3, 1, 4, 1, 5, 9, 2, 6);
  const limits = ['TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'TF_OVERRIDE_GLOBAL_THREADPOOL'];
  const saved = limits.map((k) => process.env[k]);

  afterAll(() => {
    limits.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
  });

  interface WorkerReport {
    backend: string;
    note?: string;
    loss: number;
    grad: Float32Array;
    error?: string;
  }

  function runInWorker(): Promise<WorkerReport> {
    const source = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      (async () => {
        const { createTfjsEngine } = await import(w.engineUrl);
        const engine = await createTfjsEngine(w.spec, 8, 'auto');
        const grad = new Float32Array(w.params.length);
        const loss = engine.gradients(w.params, w.data, w.rows, grad, false);
        parentPort.postMessage({ backend: engine.backend, note: engine.note, loss, grad });
        engine.dispose();
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack) }));`;
    return new Promise((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { engineUrl: pathToFileURL(engineModule).href, spec, params, data, rows } });
      worker.once('message', (m: WorkerReport) => void worker.terminate().then(() => resolve(m)));
      worker.once('error', reject);
    });
  }

  it('computes the same loss and gradient bits as the main thread, on the same backend', async () => {
    expect(existsSync(engineModule), `${engineModule} is missing: run \`npm run build\` first`).toBe(true);
    const inWorker = await runInWorker();
    expect(inWorker.error).toBeUndefined();
    const engine = await createTfjsEngine(spec, 8, inWorker.backend as 'tensorflow' | 'wasm' | 'cpu');
    const grad = new Float32Array(params.length);
    expect(inWorker.loss).toBe(engine.gradients(params, data, rows, grad, false));
    expect(sameBits(inWorker.grad, grad)).toBe(true);
    engine.dispose();
  });

  it('keeps tensorflow out of workers started without one-thread limits', async () => {
    for (const k of limits) delete process.env[k];
    const unlimited = await runInWorker();
    expect(unlimited.backend).not.toBe('tensorflow');
    expect(unlimited.note).toMatch(/tensorflow \(this worker thread was started without one-thread limits/);
    limitTensorflowThreads();
    const limited = await runInWorker();
    if (limited.backend !== 'tensorflow') expect(limited.note).not.toMatch(/one-thread limits/);
  });
});
