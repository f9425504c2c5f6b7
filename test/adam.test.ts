import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectTfjsBackend } from '../src/engine/tfjs-backend.js';
import { KERAS_ADAM, type AdamConfig } from '../src/model/spec.js';
import { adamBiasCorrections, adamScalars, reduceAdam, type AdamStep } from '../src/optim/adam.js';
import { Rng } from '../src/rng.js';
import { relativeError } from './helpers/float-arrays.js';

function randomArray(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rng.nextFloat() - 1) * scale);
}

/** 100 steps of tf.train.adam and of reduceAdam (one slot, in chunks) on the same gradients: ‖x − x_tf‖ / ‖x_tf‖ per tensor. */
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
      reduceAdam(params, m, v, gradients[t - 1], 1, bounds[c], bounds[c + 1], adamScalars({ t, lr, config, gradScale: 1 }, 1));
    }
  }
  const expectedParams = variable.dataSync() as Float32Array;
  // The optimizer's weights: [iterations, m of each variable, v of each variable].
  const [, expectedM, expectedV] = (await optimizer.getWeights()).map((w) => w.tensor.dataSync() as Float32Array);
  const result = { params: relativeError(params, expectedParams), m: relativeError(m, expectedM), v: relativeError(v, expectedV) };
  optimizer.dispose();
  variable.dispose();
  return result;
}

describe.each(['cpu', 'wasm'] as const)('reduceAdam against tf.train.adam on the %s backend', (backend) => {
  beforeAll(async () => {
    await selectTfjsBackend(backend);
  });

  it('matches Keras defaults for 100 steps to a normwise relative error ≤ 1e-6 per tensor', async () => {
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

describe('reduceAdam', () => {
  const step: AdamStep = { t: 1, lr: 0.001, config: KERAS_ADAM, gradScale: 1 };

  it('touches only the chunk [begin, end) of params, m and v', () => {
    const params = new Float32Array(10).fill(1);
    const m = new Float32Array(10);
    const v = new Float32Array(10);
    const grad = new Float32Array(10).fill(0.5);
    reduceAdam(params, m, v, grad, 1, 3, 6, adamScalars(step, 1));
    // Adam's first step moves every weight by about lr, whatever the gradient.
    for (let i = 0; i < 10; i++) {
      const inside = i >= 3 && i < 6;
      expect(params[i]).toBeCloseTo(inside ? 0.999 : 1, 7);
      expect(m[i]).toBe(inside ? Math.fround(Math.fround(0.1) * 0.5) : 0);
      expect(v[i] > 0).toBe(inside);
    }
  });

  it('scales the gradient by gradScale / rows before the moments', () => {
    const run = (grad: number, gradScale: number, rows: number): Float32Array => {
      const m = new Float32Array(1);
      reduceAdam(new Float32Array(1), m, new Float32Array(1), Float32Array.of(grad), 1, 0, 1, adamScalars({ ...step, gradScale }, rows));
      return m;
    };
    expect(run(2, 0.25, 1)[0]).toBe(run(0.5, 1, 1)[0]);
    expect(run(2, 1, 4)[0]).toBe(run(0.5, 1, 1)[0]);
  });

  it('stores a moment below the smallest normal float32 as 0, and keeps one above it', () => {
    const smallestNormal = 2 ** -126;
    // Gradient 0: each moment only decays by its β, as for a weight whose input is always 0.
    const m = Float32Array.of(smallestNormal, 4 * smallestNormal, -4 * smallestNormal, 1e-39);
    const v = Float32Array.of(smallestNormal, 4 * smallestNormal, 1e-39, 4 * smallestNormal);
    const params = Float32Array.of(1, 1, 1, 1);
    reduceAdam(params, m, v, new Float32Array(4), 1, 0, 4, adamScalars(step, 1));
    const decayed = (x: number, beta: number): number => Math.fround(Math.fround(Math.fround(beta) * Math.fround(x)) + 0);
    expect(Array.from(m)).toEqual([0, decayed(4 * smallestNormal, 0.9), decayed(-4 * smallestNormal, 0.9), 0]);
    // 0.999 · 2^-126 is below 2^-126, so v[0] goes to 0 as m[0] does.
    expect(Array.from(v)).toEqual([0, decayed(4 * smallestNormal, 0.999), 0, decayed(4 * smallestNormal, 0.999)]);
    expect(Object.is(m[0], 0) && Object.is(m[3], 0)).toBe(true); // +0, not −0
    expect(Array.from(params).every(Number.isFinite)).toBe(true);
  });

  it('gives the same bits when the bias corrections are asked out of order', () => {
    const later = adamBiasCorrections({ t: 50, config: KERAS_ADAM });
    adamBiasCorrections({ t: 3, config: KERAS_ADAM });
    expect(adamBiasCorrections({ t: 50, config: KERAS_ADAM })).toEqual(later);
    let power = Math.fround(KERAS_ADAM.beta2);
    for (let t = 2; t <= 50; t++) power = Math.fround(power * Math.fround(KERAS_ADAM.beta2));
    expect(later.c2).toBe(Math.fround(1 - power));
  });

  it('rejects a chunk outside the buffers, moments of another length and a step below 1', () => {
    const a = new Float32Array(4);
    expect(() => reduceAdam(a, a, a, a, 1, 2, 5, adamScalars(step, 1))).toThrow(/outside/);
    expect(() => reduceAdam(a, a, a, a, 2, 0, 4, adamScalars(step, 1))).toThrow(/need 8 floats/);
    expect(() => reduceAdam(a, new Float32Array(3), a, a, 1, 0, 4, adamScalars(step, 1))).toThrow(/m and v need 4 floats/);
    expect(() => adamScalars({ ...step, t: 0 }, 1)).toThrow(/≥ 1/);
  });
});
