import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineData } from '../src/engine/engine.js';
import { createTfjsEngine, type TfjsEngine } from '../src/engine/tfjs.js';
import { EngineError } from '../src/errors.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { KERAS_ADAM, validateSpec, type Activation, type ModelSpec } from '../src/model/spec.js';
import { Rng } from '../src/rng.js';

// Keras clips to [ε, 1 − ε] with ε = 1e-7, in float32: the upper bound is 1 − 1.19e-7.
const CLIP_LOW = Math.fround(1e-7);
const CLIP_HIGH = Math.fround(1 - 1e-7);

function activate(name: Activation, z: number[]): number[] {
  switch (name) {
    case 'linear':
      return z;
    case 'relu':
      return z.map((a) => Math.max(a, 0));
    case 'sigmoid':
      return z.map((a) => 1 / (1 + Math.exp(-a)));
    case 'tanh':
      return z.map(Math.tanh);
    case 'elu':
      return z.map((a) => (a > 0 ? a : Math.exp(a) - 1));
    case 'softmax': {
      const top = Math.max(...z);
      const e = z.map((a) => Math.exp(a - top));
      const s = e.reduce((a, b) => a + b);
      return e.map((a) => a / s);
    }
  }
}

/** Layer activations of one row, in double precision, written straight from the Keras definitions. */
function forward(spec: ModelSpec, params: ArrayLike<number>, row: number[]): number[][] {
  const out: number[][] = [];
  let h = row;
  paramLayout(spec).layers.forEach((l, i) => {
    const z = Array.from({ length: l.units }, (_, u) => {
      let s = params[l.biasOffset + u];
      for (let k = 0; k < l.inputs; k++) s += h[k] * params[l.kernelOffset + k * l.units + u];
      return s;
    });
    h = activate(spec.layers[i].activation, z);
    out.push(h);
  });
  return out;
}

/** Keras's per-row loss: BCE/MSE/MAE averaged over units; crossentropies on the normalized, clipped output. */
function rowLoss(spec: ModelSpec, p: number[], row: number[], label: number): number {
  const clip = (a: number): number => Math.min(Math.max(a, CLIP_LOW), CLIP_HIGH);
  const mean = (f: (p: number, y: number) => number): number => p.reduce((s, pi, i) => s + f(pi, row[i]), 0) / p.length;
  switch (spec.loss) {
    case 'binary_crossentropy':
      return mean((pi, y) => -y * Math.log(clip(pi)) - (1 - y) * Math.log(1 - clip(pi)));
    case 'mse':
      return mean((pi, y) => (pi - y) ** 2);
    case 'mae':
      return mean((pi, y) => Math.abs(pi - y));
    case 'categorical_crossentropy':
    case 'sparse_categorical_crossentropy': {
      const total = p.reduce((a, b) => a + b);
      return -Math.log(clip(p[label] / total));
    }
  }
}

function referenceLossSum(spec: ModelSpec, params: ArrayLike<number>, data: EngineData, rows: Int32Array): number {
  let sum = 0;
  for (const r of rows) {
    const x = Array.from(data.x.subarray(r * data.features, (r + 1) * data.features));
    const acts = forward(spec, params, x);
    sum += rowLoss(spec, acts[acts.length - 1], x, data.labels[r]);
  }
  return sum;
}

/** Central differences of the double-precision reference. */
function numericGradient(spec: ModelSpec, params: Float32Array, data: EngineData, rows: Int32Array): Float64Array {
  const p = Float64Array.from(params);
  const h = 1e-6;
  return Float64Array.from(p, (value, i) => {
    p[i] = value + h;
    const up = referenceLossSum(spec, p, data, rows);
    p[i] = value - h;
    const down = referenceLossSum(spec, p, data, rows);
    p[i] = value;
    return (up - down) / (2 * h);
  });
}

function autoencoder(loss: ModelSpec['loss'], activations: Activation[]): ModelSpec {
  const units = [5, 3, 4];
  return validateSpec({
    name: `ae-${loss}`,
    inputSize: 6,
    normalize: true,
    layers: [
      ...activations.slice(0, -1).map((activation, i) => ({ units: units[i], activation })),
      { units: 6, activation: activations[activations.length - 1] },
    ],
    loss,
    target: 'input',
    optimizer: KERAS_ADAM,
  });
}

function classifier(loss: 'categorical_crossentropy' | 'sparse_categorical_crossentropy'): ModelSpec {
  return validateSpec({
    name: `clf-${loss}`,
    inputSize: 6,
    normalize: true,
    layers: [
      { units: 5, activation: 'tanh' },
      { units: 4, activation: 'softmax' },
    ],
    loss,
    target: 'label',
    optimizer: KERAS_ADAM,
  });
}

const SPECS: ModelSpec[] = [
  autoencoder('binary_crossentropy', ['relu', 'tanh', 'elu', 'sigmoid']),
  autoencoder('mse', ['sigmoid', 'linear']),
  autoencoder('mae', ['elu', 'relu', 'sigmoid']),
  classifier('categorical_crossentropy'),
  classifier('sparse_categorical_crossentropy'),
];

function randomData(seed: number, rows: number, features: number, classes: number): EngineData {
  const rng = Rng.fromSeed(seed);
  return {
    x: Float32Array.from({ length: rows * features }, () => rng.nextFloat()),
    labels: Uint8Array.from({ length: rows }, () => rng.nextInt(classes)),
    features,
  };
}

function randomParams(spec: ModelSpec, seed: number): Float32Array {
  const layout = paramLayout(spec);
  const params = new Float32Array(layout.size);
  glorotUniformInit(layout, params, Rng.fromSeed(seed));
  // Non-zero biases, so that their gradients are checked on a general point.
  const rng = Rng.fromSeed(seed + 1);
  for (const l of layout.layers) for (let u = 0; u < l.units; u++) params[l.biasOffset + u] = 0.2 * (rng.nextFloat() - 0.5);
  return params;
}

const ROWS = Int32Array.of(0, 3, 4, 9, 3, 7, 1);

describe.each(['cpu', 'wasm'] as const)('tfjs engine on the %s backend', (backend) => {
  describe.each(SPECS)('$name', (spec) => {
    let engine: TfjsEngine;
    const data = randomData(11, 10, spec.inputSize, 4);
    const params = randomParams(spec, 5);
    beforeAll(async () => {
      engine = await createTfjsEngine(spec, 16, backend);
    });
    afterAll(() => engine.dispose());

    it('reports what it runs on', () => {
      expect(engine.name).toBe('tfjs');
      expect(engine.backend).toBe(backend);
    });

    it('sums the Keras per-row loss over the rows', () => {
      const expected = referenceLossSum(spec, params, data, ROWS);
      expect(Math.abs(engine.lossSum(params, data, ROWS) - expected)).toBeLessThanOrEqual(1e-5 * expected);
    });

    it('writes the gradient of that sum into the flat layout', () => {
      const grad = new Float32Array(params.length).fill(Number.NaN);
      const loss = engine.gradients(params, data, ROWS, grad, false);
      expect(loss).toBe(engine.lossSum(params, data, ROWS));
      const expected = numericGradient(spec, params, data, ROWS);
      const scale = Math.max(...expected.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      for (let i = 0; i < grad.length; i++) expect(Math.abs(grad[i] - expected[i])).toBeLessThanOrEqual(1e-4 * scale);
    });

    it('adds to the gradient buffer when accumulating', () => {
      const fresh = new Float32Array(params.length);
      engine.gradients(params, data, ROWS, fresh, false);
      const sum = new Float32Array(params.length).fill(0.5);
      engine.gradients(params, data, ROWS, sum, true);
      for (let i = 0; i < sum.length; i++) expect(sum[i]).toBe(Math.fround(0.5 + fresh[i]));
    });

    it('predicts the output and any layer’s activations', () => {
      const last = spec.layers.length - 1;
      const rows = Int32Array.of(2, 8);
      for (const layer of [0, last, -1]) {
        const units = spec.layers[layer < 0 ? last : layer].units;
        const out = new Float32Array(rows.length * units);
        engine.predict(params, data, rows, out, layer);
        rows.forEach((r, i) => {
          const expected = forward(spec, params, Array.from(data.x.subarray(r * 6, r * 6 + 6)))[layer < 0 ? last : layer];
          expected.forEach((e, u) => expect(out[i * units + u]).toBeCloseTo(e, 5));
        });
      }
    });
  });
});

describe('tfjs engine where the sigmoid saturates', () => {
  it('clips the output as Keras does, with no gradient through clipped units', async () => {
    const spec = SPECS[0];
    const data = randomData(4, 10, 6, 4);
    const params = randomParams(spec, 2);
    const out = paramLayout(spec).layers[spec.layers.length - 1];
    for (let u = 0; u < out.units; u++) params[out.biasOffset + u] = u % 3 === 0 ? 40 : u % 3 === 1 ? -40 : 0;
    const engine = await createTfjsEngine(spec, 16, 'cpu');
    const expected = referenceLossSum(spec, params, data, ROWS);
    expect(Math.abs(engine.lossSum(params, data, ROWS) - expected)).toBeLessThanOrEqual(1e-5 * expected);
    const grad = new Float32Array(params.length);
    engine.gradients(params, data, ROWS, grad, false);
    expect(grad[out.biasOffset]).toBe(0);
    expect(grad[out.biasOffset + 1]).toBe(0);
    expect(grad[out.biasOffset + 2]).not.toBe(0);
    const numeric = numericGradient(spec, params, data, ROWS);
    const scale = Math.max(...numeric.map(Math.abs));
    grad.forEach((g, i) => expect(Math.abs(g - numeric[i])).toBeLessThanOrEqual(1e-4 * scale));
    engine.dispose();
  });
});

describe('tfjs engine resources and errors', () => {
  const spec = SPECS[0];
  const data = randomData(3, 10, 6, 4);
  const params = randomParams(spec, 9);

  it.each(['cpu', 'wasm'] as const)('leaves no tensors behind on %s, call after call, and frees its model on dispose', async (backend) => {
    const before = tf.memory().numTensors;
    const engine = await createTfjsEngine(spec, 16, backend);
    const grad = new Float32Array(params.length);
    const out = new Float32Array(ROWS.length * 6);
    const call = (): void => {
      engine.gradients(params, data, ROWS, grad, true);
      engine.lossSum(params, data, ROWS);
      engine.predict(params, data, ROWS, out);
      engine.predict(params, data, ROWS, out, 1);
    };
    call();
    const settled = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) call();
    expect(tf.memory().numTensors).toBe(settled);
    engine.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('explains calls it cannot serve', async () => {
    const engine = await createTfjsEngine(SPECS[3], 4, 'cpu');
    const p = randomParams(SPECS[3], 1);
    const grad = new Float32Array(p.length);
    const cases: [() => unknown, RegExp][] = [
      [() => engine.lossSum(p, data, Int32Array.of(0, 1, 2, 3, 4)), /exceed the engine's maxRows 4/],
      [() => engine.lossSum(p, data, Int32Array.of(10)), /row index 10 is outside the data's 10 rows/],
      [() => engine.lossSum(p, { ...data, labels: Uint8Array.of(7, 0, 0, 0, 0, 0, 0, 0, 0, 0) }, Int32Array.of(0)), /label 7, but the model has 4 classes/],
      [() => engine.lossSum(p, { ...data, features: 5 }, Int32Array.of(0)), /5 features, the model takes 6/],
      [() => engine.gradients(p.subarray(1), data, Int32Array.of(0), grad, false), /params hold/],
      [() => engine.gradients(p, data, Int32Array.of(0), grad.subarray(1), false), /grad holds/],
      [() => engine.predict(p, data, Int32Array.of(0), new Float32Array(4), 2), /layer 2 does not exist/],
      [() => engine.predict(p, data, Int32Array.of(0, 1), new Float32Array(4)), /out holds 4 floats/],
    ];
    for (const [call, message] of cases) {
      expect(call).toThrow(EngineError);
      expect(call).toThrow(message);
    }
    engine.dispose();
  });

  it('refuses to run after another backend took over the thread', async () => {
    const engine = await createTfjsEngine(spec, 16, 'cpu');
    const other = await createTfjsEngine(spec, 16, 'wasm');
    expect(() => engine.lossSum(params, data, ROWS)).toThrow(/changed from cpu to wasm/);
    other.dispose();
    engine.dispose();
  });

  it('rejects a bad maxRows', async () => {
    await expect(createTfjsEngine(spec, 0, 'cpu')).rejects.toThrow(EngineError);
  });
});
