import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectTfjsBackend } from '../src/engine/tfjs-backend.js';
import { KERAS_ADAM, type AdamConfig } from '../src/model/spec.js';
import { adamBiasCorrections, adamScalars, adamUpdate, type AdamStep } from '../src/optim/adam.js';
import { Rng } from '../src/rng.js';

function randomArray(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rng.nextFloat() - 1) * scale);
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (diff !== 0) worst = Math.max(worst, diff / Math.max(Math.abs(expected[i]), 1e-30));
  }
  return worst;
}

/** 100 steps of tf.train.adam and of adamUpdate (in chunks) on the same gradients. */
async function compare(config: AdamConfig, lr: number, chunks: number): Promise<{ params: number; m: number; v: number }> {
  const rng = Rng.fromSeed(7);
  const n = 1000;
  const start = randomArray(rng, n, 1);
  start.fill(0, 0, 100); // biases start at zero, where relative errors are hardest to keep small
  const gradients = Array.from({ length: 100 }, (_, t) => randomArray(rng, n, t % 10 === 0 ? 1e-4 : 0.1));

  const variable = tf.variable(tf.tensor1d(start));
  const optimizer = tf.train.adam(lr, config.beta1, config.beta2, config.epsilon);
  const params = Float32Array.from(start);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  const bounds = Array.from({ length: chunks + 1 }, (_, i) => Math.round((i * n) / chunks));
  for (let t = 1; t <= gradients.length; t++) {
    tf.tidy(() => optimizer.applyGradients([{ name: variable.name, tensor: tf.tensor1d(gradients[t - 1]) }]));
    for (let c = 0; c < chunks; c++) {
      adamUpdate(params, m, v, gradients[t - 1], bounds[c], bounds[c + 1], adamScalars({ t, lr, config, gradScale: 1 }));
    }
  }
  const expectedParams = variable.dataSync() as Float32Array;
  // The optimizer's weights: [iterations, m of each variable, v of each variable].
  const [, expectedM, expectedV] = (await optimizer.getWeights()).map((w) => w.tensor.dataSync() as Float32Array);
  const result = { params: maxRelativeError(params, expectedParams), m: maxRelativeError(m, expectedM), v: maxRelativeError(v, expectedV) };
  optimizer.dispose();
  variable.dispose();
  return result;
}

describe.each(['cpu', 'wasm'] as const)('adamUpdate against tf.train.adam on the %s backend', (backend) => {
  beforeAll(async () => {
    await selectTfjsBackend(backend);
  });

  it('matches Keras defaults for 100 steps to a relative error ≤ 1e-6', async () => {
    const errors = await compare(KERAS_ADAM, KERAS_ADAM.learningRate, 1);
    expect(errors.params).toBeLessThanOrEqual(1e-6);
    expect(errors.m).toBeLessThanOrEqual(1e-6);
    expect(errors.v).toBeLessThanOrEqual(1e-6);
  });

  it('matches other settings, updated in uneven chunks', async () => {
    const errors = await compare({ learningRate: 0.01, beta1: 0.8, beta2: 0.95, epsilon: 1e-4 }, 0.01, 7);
    expect(errors.params).toBeLessThanOrEqual(1e-6);
    expect(errors.m).toBeLessThanOrEqual(1e-6);
    expect(errors.v).toBeLessThanOrEqual(1e-6);
  });
});

describe('adamUpdate', () => {
  const step: AdamStep = { t: 1, lr: 0.001, config: KERAS_ADAM, gradScale: 1 };

  it('touches only the chunk [begin, end)', () => {
    const params = new Float32Array(10).fill(1);
    const m = new Float32Array(10);
    const v = new Float32Array(10);
    const grad = new Float32Array(10).fill(0.5);
    adamUpdate(params, m, v, grad, 3, 6, adamScalars(step));
    expect(Array.from(params)).toEqual([1, 1, 1, 0.999, 0.999, 0.999, 1, 1, 1, 1].map(Math.fround));
    expect(Array.from(m.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(m.subarray(6))).toEqual([0, 0, 0, 0]);
  });

  it('scales the gradient by gradScale before the moments', () => {
    const run = (grad: number, gradScale: number): Float32Array => {
      const m = new Float32Array(1);
      adamUpdate(new Float32Array(1), m, new Float32Array(1), Float32Array.of(grad), 0, 1, adamScalars({ ...step, gradScale }));
      return m;
    };
    expect(run(2, 0.25)[0]).toBe(run(0.5, 1)[0]);
  });

  it('gives the same bits when the bias corrections are asked out of order', () => {
    const later = adamBiasCorrections({ t: 50, config: KERAS_ADAM });
    adamBiasCorrections({ t: 3, config: KERAS_ADAM });
    expect(adamBiasCorrections({ t: 50, config: KERAS_ADAM })).toEqual(later);
    let power = Math.fround(KERAS_ADAM.beta2);
    for (let t = 2; t <= 50; t++) power = Math.fround(power * Math.fround(KERAS_ADAM.beta2));
    expect(later.c2).toBe(Math.fround(1 - power));
  });

  it('rejects a chunk outside the buffers and a step below 1', () => {
    const a = new Float32Array(4);
    expect(() => adamUpdate(a, a, a, a, 2, 5, adamScalars(step))).toThrow(RangeError);
    expect(() => adamScalars({ ...step, t: 0 })).toThrow(/≥ 1/);
  });
});
