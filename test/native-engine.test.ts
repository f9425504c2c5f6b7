/**
 * The native engine (native/, src/engine/native.ts): finite-difference gradients, bad
 * arguments, worker threads, and agreement with the tfjs reference engine and the JS
 * all-reduce and Adam. Where the addon could not be built (no compiler), the suites are
 * skipped and say why.
 */
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine, EngineData } from '../src/engine/engine.js';
import { createNativeEngine, nativeAddon, nativeStatus, nativeUpdateKernels, type KernelChoice } from '../src/engine/native.js';
import type { UpdateKernels } from '../src/optim/update-kernels.js';
import { createTfjsEngine } from '../src/engine/tfjs.js';
import { EngineError } from '../src/errors.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC, KERAS_ADAM, validateSpec, type Activation, type DenseLayer, type LossName, type ModelSpec } from '../src/model/spec.js';
import { adamScalars, reduceAdam, type AdamScalars } from '../src/optim/adam.js';
import { meanGradientSumOfSquares } from '../src/optim/reduce.js';
import { NATIVE_ADDON } from '../src/paths.js';
import { Rng } from '../src/rng.js';
import { sameBits } from './helpers/float-arrays.js';

/** The output activation and loss pairs that make sense (cross-entropies need outputs in [0, 1]). */
const OUTPUTS: ReadonlyArray<{ readonly loss: LossName; readonly activation: Activation }> = [
  { loss: 'binary_crossentropy', activation: 'sigmoid' },
  { loss: 'binary_crossentropy', activation: 'softmax' },
  ...(['linear', 'relu', 'sigmoid', 'tanh', 'elu', 'softmax'] as const).flatMap((activation) => [
    { loss: 'mse' as const, activation },
    { loss: 'mae' as const, activation },
  ]),
  ...(['softmax', 'sigmoid'] as const).flatMap((activation) => [
    { loss: 'categorical_crossentropy' as const, activation },
    { loss: 'sparse_categorical_crossentropy' as const, activation },
  ]),
];
const HIDDEN: readonly Activation[] = ['linear', 'relu', 'sigmoid', 'tanh', 'elu'];

interface Case {
  readonly inputSize: number;
  readonly hidden: readonly DenseLayer[];
  readonly output: (typeof OUTPUTS)[number];
  /** Output units of a classifier. */
  readonly classes: number;
}

function specOf(c: Case): ModelSpec {
  const classifier = c.output.loss === 'categorical_crossentropy' || c.output.loss === 'sparse_categorical_crossentropy';
  return validateSpec({
    name: 'test',
    inputSize: c.inputSize,
    normalize: true,
    layers: [...c.hidden, { units: classifier ? c.classes : c.inputSize, activation: c.output.activation }],
    loss: c.output.loss,
    target: classifier ? 'label' : 'input',
    optimizer: KERAS_ADAM,
  });
}

function shared<T extends Float32Array | Uint8Array | Int32Array>(make: (b: SharedArrayBuffer) => T, bytes: number): T {
  return make(new SharedArrayBuffer(bytes));
}

/** MNIST-like rows on SharedArrayBuffers: half exact zeros, the rest k/255; labels below `classes`. */
function makeData(rng: Rng, rows: number, features: number, classes: number): EngineData {
  const x = shared((b) => new Float32Array(b), rows * features * 4);
  for (let i = 0; i < x.length; i++) x[i] = rng.nextFloat() < 0.5 ? 0 : rng.nextInt(256) / 255;
  const labels = shared((b) => new Uint8Array(b), rows);
  for (let i = 0; i < rows; i++) labels[i] = rng.nextInt(classes);
  return { x, labels, features };
}

/** Glorot kernels (as training starts) and small random biases (so bias gradients are tested off zero). */
function makeParams(spec: ModelSpec, rng: Rng): Float32Array {
  const layout = paramLayout(spec);
  const params = shared((b) => new Float32Array(b), layout.size * 4);
  glorotUniformInit(layout, params, rng);
  for (const l of layout.layers) for (let i = 0; i < l.units; i++) params[l.biasOffset + i] = 0.2 * rng.nextFloat() - 0.1;
  return params;
}

function randomRows(rng: Rng, count: number, dataRows: number): Int32Array {
  return Int32Array.from({ length: count }, () => rng.nextInt(dataRows));
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** ||a − b|| / ||b||, the relative error of a tensor. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const diff = Array.from(a, (v, i) => v - b[i]);
  return norm(diff) / Math.max(norm(b), 1e-30);
}

/** Relative error of each kernel and bias of the layout, named. */
function tensorErrors(spec: ModelSpec, a: Float32Array, b: Float32Array): Array<{ tensor: string; err: number }> {
  return paramLayout(spec).layers.flatMap((l, i) => [
    { tensor: `kernel ${i}`, err: relErr(a.subarray(l.kernelOffset, l.biasOffset), b.subarray(l.kernelOffset, l.biasOffset)) },
    { tensor: `bias ${i}`, err: relErr(a.subarray(l.biasOffset, l.biasOffset + l.units), b.subarray(l.biasOffset, l.biasOffset + l.units)) },
  ]);
}

const status = nativeStatus();

/** A suite that needs the addon: skipped where it could not be built, its name saying why. */
function describeNative(name: string, body: () => void): void {
  describe.skipIf(!status.available)(status.available ? name : `${name} (skipped: ${status.reason})`, body);
}

describeNative('native engine: finite differences', () => {
  /**
   * Parameters whose analytic gradient matches neither the central nor a one-sided
   * difference. One-sided differences cover a kink (relu, mae, a clip) within h of the
   * point: the analytic gradient is then the slope on the side without it.
   */
  function gradientMismatches(engine: Engine, params: Float32Array, data: EngineData, rows: Int32Array, grad: Float32Array): string[] {
    const h = 3e-3;
    const l0 = engine.lossSum(params, data, rows);
    const scale = Math.max(...Array.from(grad, Math.abs));
    const noise = (1e-6 * Math.abs(l0)) / h; // float32 rounding of the loss, seen through the division by h
    const bad: string[] = [];
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      params[i] = p + h;
      const up = params[i] - p;
      const lossUp = engine.lossSum(params, data, rows);
      params[i] = p - h;
      const down = p - params[i];
      const lossDown = engine.lossSum(params, data, rows);
      params[i] = p;
      const slopes = [(lossUp - lossDown) / (up + down), (lossUp - l0) / up, (l0 - lossDown) / down];
      const tolerance = 1e-2 * Math.abs(grad[i]) + 1e-3 * scale + noise;
      if (!slopes.some((s) => Math.abs(s - grad[i]) <= tolerance)) bad.push(`param ${i}: analytic ${grad[i]}, differences ${slopes.join(', ')}`);
    }
    return bad;
  }

  function tinyCase(output: Case['output'], hidden: Activation): { engine: Engine; params: Float32Array; data: EngineData; rows: Int32Array } {
    const rng = Rng.fromSeed(7);
    const spec = specOf({ inputSize: 5, hidden: [{ units: 4, activation: hidden }], output, classes: 4 });
    const data = makeData(rng, 10, spec.inputSize, 4);
    // Targets strictly inside (0, 1) and off the outputs: no mae kink at a data point.
    for (let i = 0; i < data.x.length; i++) data.x[i] = 0.05 + 0.9 * rng.nextFloat();
    return { engine: createNativeEngine(spec, 3), params: makeParams(spec, rng), data, rows: Int32Array.of(2, 7, 2) };
  }

  for (const output of OUTPUTS) {
    for (const hidden of HIDDEN) {
      it(`${output.activation} + ${output.loss} after ${hidden}`, () => {
        const { engine, params, data, rows } = tinyCase(output, hidden);
        const grad = new Float32Array(params.length);
        const loss = engine.gradients(params, data, rows, grad, false);
        expect(engine.lossSum(params, data, rows)).toBe(loss);
        expect(Number.isFinite(loss) && loss > 0).toBe(true);
        expect(gradientMismatches(engine, params, data, rows, grad)).toEqual([]);
        engine.dispose();
      });
    }
  }

  it('notices a wrong gradient (the check can fail)', () => {
    const { engine, params, data, rows } = tinyCase(OUTPUTS[0], 'tanh');
    const grad = new Float32Array(params.length);
    engine.gradients(params, data, rows, grad, false);
    grad[3] *= 1.05;
    expect(gradientMismatches(engine, params, data, rows, grad)).toHaveLength(1);
    engine.dispose();
  });
});

describeNative('native engine: calls', () => {
  const spec = specOf({ inputSize: 6, hidden: [{ units: 5, activation: 'relu' }], output: OUTPUTS[0], classes: 0 });
  const classifier = specOf({ inputSize: 6, hidden: [], output: { loss: 'sparse_categorical_crossentropy', activation: 'softmax' }, classes: 3 });
  const rng = Rng.fromSeed(3);
  const data = makeData(rng, 20, 6, 3);
  const params = makeParams(spec, rng);

  it('adds into grad when accumulating, and handles zero rows', () => {
    const engine = createNativeEngine(spec, 8);
    const [a, b, both] = [Int32Array.of(1, 2, 3), Int32Array.of(4, 5), Int32Array.of(1, 2, 3, 4, 5)];
    const sum = new Float32Array(params.length);
    const whole = new Float32Array(params.length);
    const lossA = engine.gradients(params, data, a, sum, false);
    const lossB = engine.gradients(params, data, b, sum, true);
    const loss = engine.gradients(params, data, both, whole, false);
    expect(lossA + lossB).toBeCloseTo(loss, 5);
    expect(relErr(sum, whole)).toBeLessThan(1e-6);
    expect(engine.gradients(params, data, new Int32Array(0), sum, true)).toBe(0);
    expect(relErr(sum, whole)).toBeLessThan(1e-6);
    engine.gradients(params, data, new Int32Array(0), sum, false);
    expect(sum.every((g) => g === 0)).toBe(true);
    engine.dispose();
  });

  it('predicts the output and hidden layers', () => {
    const engine = createNativeEngine(spec, 8);
    const rows = Int32Array.of(0, 9);
    const out = new Float32Array(2 * 6);
    const hidden = new Float32Array(2 * 5);
    engine.predict(params, data, rows, out);
    engine.predict(params, data, rows, hidden, 0);
    // The hidden layer by hand: relu(x W + b).
    const l = paramLayout(spec).layers[0];
    for (let r = 0; r < 2; r++) {
      for (let j = 0; j < 5; j++) {
        let z = params[l.biasOffset + j];
        for (let k = 0; k < 6; k++) z += data.x[rows[r] * 6 + k] * params[l.kernelOffset + k * 5 + j];
        expect(hidden[r * 5 + j]).toBeCloseTo(Math.max(z, 0), 5);
      }
    }
    expect(out.every((p) => p > 0 && p < 1)).toBe(true);
    engine.dispose();
  });

  it('throws clear errors on bad arguments and keeps working', () => {
    const engine = createNativeEngine(spec, 4);
    const kernels = nativeUpdateKernels();
    const grad = new Float32Array(params.length);
    const rows = Int32Array.of(0, 1);
    const expected = engine.gradients(params, data, rows, grad, false);
    const bad: Array<[() => unknown, RegExp]> = [
      [() => engine.gradients(params.subarray(1), data, rows, grad, false), /params has \d+ floats, the model needs \d+/],
      [() => engine.gradients(new Float64Array(params.length) as unknown as Float32Array, data, rows, grad, false), /params must be a Float32Array/],
      [() => engine.gradients(params, data, rows, new Float32Array(3), false), /grad has 3 floats/],
      [() => engine.gradients(params, data, [0, 1] as unknown as Int32Array, grad, false), /rows must be a Int32Array/],
      [() => engine.gradients(params, data, new Int32Array(5), grad, false), /more than this engine's maxRows 4/],
      [() => engine.gradients(params, data, Int32Array.of(0, -1), grad, false), /rows\[1\] = -1 is outside the data's 20 rows/],
      [() => engine.gradients(params, data, Int32Array.of(20), grad, false), /rows\[0\] = 20 is outside/],
      [() => engine.gradients(params, { ...data, x: data.x.subarray(1) }, rows, grad, false), /not a whole number of rows of 6/],
      [() => engine.gradients(params, { ...data, features: 5 }, rows, grad, false), /data has 5 features per row, the model's input has 6/],
      [() => engine.gradients(params, data, rows, grad, 1 as unknown as boolean), /accumulate must be a boolean/],
      [() => engine.lossSum(params, { ...data, labels: undefined as unknown as Uint8Array }, rows), /data.labels must be a Uint8Array/],
      [() => engine.predict(params, data, rows, new Float32Array(11)), /out has 11 floats, 2 rows of layer 1 need 12/],
      [() => engine.predict(params, data, rows, new Float32Array(12), 2), /layer must be a whole number in \[-1, 1\], got 2/],
      [() => kernels.gradientSumOfSquares(new Float32Array(10), 2, 6, 0, 6, 1), /slots has 10 floats, fewer than slotCount 2 x size 6/],
      [() => kernels.gradientSumOfSquares(new Float32Array(12), 2, 6, 4, 3, 1), /end must be a whole number in \[4, 6\], got 3/],
      [() => kernels.gradientSumOfSquares(new Float32Array(12), 2, 6, 0, 7, 1), /end must be a whole number in \[0, 6\], got 7/],
      [() => kernels.gradientSumOfSquares(new Float32Array(12), 0, 6, 0, 6, 1), /slotCount must be a whole number in \[1, /],
      [() => kernels.reduceAdam(params, new Float32Array(2), new Float32Array(params.length), grad, 1, 0, 1, adamStep(1)), /m has 2 floats/],
      [() => kernels.reduceAdam(params, grad, grad, grad, 2, 0, 1, adamStep(1)), /slots has \d+ floats, fewer than slotCount 2/],
      [() => kernels.reduceAdam(params, grad, grad, grad, 1, 0, params.length + 1, adamStep(1)), /end must be a whole number/],
      [() => kernels.reduceAdam(params, grad, grad, grad, 1, 0, 1, { ...adamStep(1), beta1: 1 }), /beta1 must be in \[0, 1\), got 1/],
    ];
    for (const [call, message] of bad) {
      expect(call).toThrow(EngineError);
      expect(call).toThrow(message);
    }
    expect(engine.gradients(params, data, rows, grad, false)).toBe(expected);
    engine.dispose();
    engine.dispose();
    expect(() => engine.lossSum(params, data, rows)).toThrow(/this engine was disposed/);
  });

  it('checks labels against the classes of a classifier', () => {
    const engine = createNativeEngine(classifier, 4);
    const p = makeParams(classifier, rng);
    const labels = Uint8Array.from(data.labels);
    labels[5] = 3;
    expect(() => engine.lossSum(p, { ...data, labels }, Int32Array.of(4, 5))).toThrow(/label 3 of data row 5 is not a class of the 3-unit output layer/);
    expect(() => engine.lossSum(p, { ...data, labels: labels.subarray(1) }, Int32Array.of(4))).toThrow(/data.labels has 19 entries for 20 data rows/);
    expect(engine.lossSum(p, data, Int32Array.of(4, 5))).toBeGreaterThan(0);
    engine.dispose();
  });

  it('refuses models and sizes it cannot compute', () => {
    expect(() => createNativeEngine({ ...classifier, target: 'input' }, 4)).toThrow(/needs spec.target "label"/);
    expect(() => createNativeEngine({ ...spec, target: 'label' }, 4)).toThrow(/target "label" needs categorical_crossentropy/);
    expect(() => createNativeEngine({ ...spec, layers: [{ units: 6, activation: 'swish' as Activation }] }, 4)).toThrow(
      /unknown activation "swish"; supported: linear, relu, sigmoid, tanh, elu, softmax/,
    );
    expect(() => createNativeEngine({ ...spec, layers: [{ units: 6, activation: 'softmax' }, ...spec.layers] }, 4)).toThrow(
      /softmax is only supported on the last layer/,
    );
    expect(() => createNativeEngine({ ...spec, loss: 'hinge' as LossName }, 4)).toThrow(/unknown loss "hinge"/);
    expect(() => createNativeEngine(spec, 0)).toThrow(/maxRows must be a whole number in \[1, 2147483647\], got 0/);
    expect(() => createNativeEngine(spec, 2.5)).toThrow(EngineError);
    expect(() => createNativeEngine(spec, 2 ** 30)).toThrow(/over 2\^31 floats/);
    expect(() => createNativeEngine(null as unknown as ModelSpec, 4)).toThrow(/spec must be an object/);
    const throwing = Object.defineProperty({ ...spec }, 'layers', {
      get: () => {
        throw new Error('boom');
      },
    });
    expect(() => createNativeEngine(throwing, 4)).toThrow(/boom/);
    const addon = nativeAddon();
    expect(() => (addon.Engine as unknown as (s: ModelSpec, n: number) => unknown)(spec, 4)).toThrow(/Engine must be called with new/);
    expect(() => (addon.gradientSumOfSquares as unknown as () => number)()).toThrow(/expected 6 arguments, got 0/);
  });
});

function adamStep(t: number, gradScale = 1, rows = 1): AdamScalars {
  return adamScalars({ t, lr: 0.01, config: KERAS_ADAM, gradScale }, rows);
}

describeNative('native update kernels: the fused all-reduce and Adam equal the TypeScript ones', () => {
  const rng = Rng.fromSeed(11);
  let kernels: UpdateKernels;
  beforeAll(() => {
    kernels = nativeUpdateKernels();
  });
  const random = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => scale * (2 * rng.nextFloat() - 1));

  it.each([1, 2, 3, 5, 6, 13])('gradientSumOfSquares over %i slot(s)', (slotCount) => {
    const [size, begin, end, rows] = [1001, 117, 968, 7];
    const slots = random(slotCount * size + 5, 10);
    const expected = meanGradientSumOfSquares(slots, slotCount, size, begin, end, 1 / rows);
    expect(kernels.gradientSumOfSquares(slots, slotCount, size, begin, end, 1 / rows)).toBeCloseTo(expected, 9);
  });

  it('sums the slots in the pairwise tree, in the vector loop and at its edges: 4 slots as (0 + 1) + (2 + 3)', () => {
    // Per element, slots 1e8, 1, −1e8, 1: the tree gives 0, slot order ((1e8 + 1) − 1e8) + 1 = 1.
    const n = 37;
    const slots = Float32Array.from({ length: 4 * n }, (_, k) => [1e8, 1, -1e8, 1][Math.floor(k / n)]);
    const m = new Float32Array(n);
    expect(kernels.reduceAdam(new Float32Array(n), m, new Float32Array(n), slots, 4, 0, n, adamStep(1))).toBe(true);
    expect(Array.from(m)).toEqual(Array<number>(n).fill(0));
    expect(kernels.gradientSumOfSquares(slots, 4, n, 0, n, 1)).toBe(0);
  });

  // Chunks that start and end anywhere: the vector loop's scalar head and tail, too.
  it.each([
    [1, 1, 29, 977],
    [2, 300, 0, 1003],
    [3, 5, 13, 14],
    [5, 2, 7, 500],
    [4, 1, 3, 1000],
    [6, 7, 0, 1003],
    [13, 1, 9, 990],
  ])(
    'reduceAdam over %i slot(s) for several steps from t = %i, chunk [%i, %i), with a gradient scale and subnormal moments',
    (slotCount, firstStep, begin, end) => {
      const n = 1003;
      const params = random(n, 1);
      const [m, v] = [random(n, 1e-3), random(n, 1e-3).map(Math.abs)];
      for (let i = 0; i < n; i += 3) m[i] = 1e-40 * ((i % 7) - 3); // dead units: subnormal m, gradient 0
      const expected = { params: Float32Array.from(params), m: Float32Array.from(m), v: Float32Array.from(v) };
      for (let t = firstStep; t < firstStep + 5; t++) {
        const slots = random(slotCount * n, 0.1).map((g, i) => ((i % n) % 3 === 0 ? 0 : g));
        const before = Float32Array.from(slots);
        expect(kernels.reduceAdam(params, m, v, slots, slotCount, begin, end, adamStep(t, 0.7, 10))).toBe(true);
        expect(reduceAdam(expected.params, expected.m, expected.v, slots, slotCount, begin, end, adamStep(t, 0.7, 10))).toBe(true);
        expect(slots).toEqual(before);
      }
      expect({ params, m, v }).toEqual(expected); // bit for bit
    },
  );

  it('reduceAdam says when a gradient is not finite, wherever it lies in the chunk', () => {
    const n = 100;
    for (const at of [0, 3, 50, 99]) {
      const slots = random(2 * n, 1);
      slots[n + at] = NaN;
      expect(kernels.reduceAdam(random(n, 1), new Float32Array(n), new Float32Array(n), slots, 2, 0, n, adamStep(1))).toBe(false);
      slots[n + at] = 3e38;
      slots[at] = 3e38; // finite slots whose sum is not
      expect(kernels.reduceAdam(random(n, 1), new Float32Array(n), new Float32Array(n), slots, 2, 0, n, adamStep(1))).toBe(false);
    }
  });
});

describeNative('native engine: several worker threads at once', () => {
  it('loads in each and computes the same gradient', async () => {
    const rng = Rng.fromSeed(5);
    const data = makeData(rng, 300, DEFAULT_SPEC.inputSize, 10);
    const params = makeParams(DEFAULT_SPEC, rng);
    const rows = randomRows(rng, 50, 300);
    const size = params.length;
    const workers = 4;
    const grads = shared((b) => new Float32Array(b), workers * size * 4);
    const code = `
      const { workerData: w, parentPort } = require('node:worker_threads');
      const addon = require(w.addon);
      const engine = new addon.Engine(w.spec, w.rows.length, 'auto');
      const grad = w.grads.subarray(w.slot * w.params.length, (w.slot + 1) * w.params.length);
      const loss = engine.gradients(w.params, w.x, w.labels, w.features, w.rows, grad, false);
      parentPort.postMessage({ loss, kernels: addon.kernelInfo().chosen });`;
    const results = await Promise.all(
      Array.from({ length: workers }, (_, slot) => {
        const worker = new Worker(code, {
          eval: true,
          workerData: { addon: NATIVE_ADDON, spec: DEFAULT_SPEC, params, ...data, rows, grads, slot },
        });
        return new Promise<{ loss: number; kernels: string }>((resolve, reject) => {
          worker.once('message', (m: { loss: number; kernels: string }) => void worker.terminate().then(() => resolve(m)));
          worker.once('error', reject);
        });
      }),
    );
    const engine = createNativeEngine(DEFAULT_SPEC, 50);
    const grad = new Float32Array(size);
    const loss = engine.gradients(params, data, rows, grad, false);
    for (let w = 0; w < workers; w++) {
      expect(results[w]).toEqual({ loss, kernels: nativeAddon().kernelInfo().chosen });
      expect(sameBits(grads.subarray(w * size, (w + 1) * size), grad)).toBe(true);
    }
    engine.dispose();
  });
});

describeNative('native engine: agrees with the tfjs reference engine', () => {
  const TOLERANCE = 1e-5;

  interface Comparison {
    readonly loss: number;
    readonly lossSum: number;
    readonly output: number;
    readonly tensors: ReadonlyArray<{ tensor: string; err: number }>;
  }

  async function compare(spec: ModelSpec, batch: number, seed: number, kernels: KernelChoice = 'auto'): Promise<Comparison & { kinkFlip: boolean }> {
    const rng = Rng.fromSeed(seed);
    const classes = spec.target === 'label' ? spec.layers[spec.layers.length - 1].units : 1;
    const data = makeData(rng, batch + 13, spec.inputSize, classes);
    const params = makeParams(spec, rng);
    const rows = randomRows(rng, batch, batch + 13);
    const native = createNativeEngine(spec, batch, kernels);
    const tfjs = await createTfjsEngine(spec, batch, 'cpu');
    try {
      const [gradN, gradT] = [new Float32Array(params.length).fill(NaN), new Float32Array(params.length)];
      const lossN = native.gradients(params, data, rows, gradN, false);
      const lossT = tfjs.gradients(params, data, rows, gradT, false);
      const outputs = spec.layers.map((l) => [new Float32Array(batch * l.units), new Float32Array(batch * l.units)] as const);
      outputs.forEach(([n, t], layer) => {
        native.predict(params, data, rows, n, layer);
        tfjs.predict(params, data, rows, t, layer);
      });
      const [outN, outT] = outputs[outputs.length - 1];
      return {
        loss: Math.abs(lossN - lossT) / Math.abs(lossT),
        lossSum: Math.abs(native.lossSum(params, data, rows) - tfjs.lossSum(params, data, rows)) / Math.abs(lossT),
        output: relErr(outN, outT),
        tensors: tensorErrors(spec, gradN, gradT),
        kinkFlip: kinkFlip(spec, outputs, data, rows),
      };
    } finally {
      native.dispose();
      tfjs.dispose();
    }
  }

  /**
   * Whether rounding put a unit on different sides of a kink in the two engines: a relu
   * that is 0 in one and positive in the other, or an mae output on different sides of
   * its target. Its slope then differs by design, so the gradients cannot match.
   */
  function kinkFlip(spec: ModelSpec, outputs: ReadonlyArray<readonly [Float32Array, Float32Array]>, data: EngineData, rows: Int32Array): boolean {
    const reluFlip = outputs.some(([n, t], layer) => spec.layers[layer].activation === 'relu' && n.some((v, i) => (v === 0) !== (t[i] === 0)));
    if (reluFlip || spec.loss !== 'mae') return reluFlip;
    const [n, t] = outputs[outputs.length - 1];
    const f = spec.inputSize;
    return n.some((v, i) => {
      const y = data.x[rows[Math.floor(i / f)] * f + (i % f)];
      return v - y > 0 !== t[i] - y > 0;
    });
  }

  function expectAgreement(c: Comparison): void {
    expect(c.loss).toBeLessThanOrEqual(TOLERANCE);
    expect(c.lossSum).toBeLessThanOrEqual(TOLERANCE);
    expect(c.output).toBeLessThanOrEqual(TOLERANCE);
    expect(c.tensors.filter((t) => !(t.err <= TOLERANCE))).toEqual([]);
  }

  it('on the seed model', async () => {
    for (const batch of [1, 100]) {
      const c = await compare(DEFAULT_SPEC, batch, batch);
      expect(c.kinkFlip).toBe(false);
      expectAgreement(c);
    }
  });

  // Each kernel path the CPU runs, forced (auto runs the fastest in every other test).
  for (const path of status.available ? nativeAddon().kernelInfo().paths : []) {
    it.skipIf(!path.runs)(
      `with the ${path.name} kernels${path.runs ? '' : ` (skipped: ${path.whyNot})`}: the seed model and every output and hidden activation`,
      async () => {
        const seed = await compare(DEFAULT_SPEC, 100, 100, path.name);
        expect(seed.kinkFlip).toBe(false);
        expectAgreement(seed);
        for (const [i, output] of OUTPUTS.entries()) {
          const hidden = HIDDEN.map((activation, j) => ({ units: 7 + 5 * j, activation }));
          const c = await compare(specOf({ inputSize: 23, hidden, output, classes: 11 }), 9 + i, i, path.name);
          expect(c.kinkFlip).toBe(false);
          expectAgreement(c);
        }
      },
    );
  }

  it("on the seed question's original (softmax + binary cross-entropy)", async () => {
    const original = { ...DEFAULT_SPEC, layers: [...DEFAULT_SPEC.layers.slice(0, -1), { units: 784, activation: 'softmax' as const }] };
    expectAgreement(await compare(original, 37, 2));
  });

  it('on every output activation and loss pair, after every hidden activation', async () => {
    for (const [i, output] of OUTPUTS.entries()) {
      const hidden = HIDDEN.map((activation, j) => ({ units: 7 + 5 * j, activation }));
      const c = await compare(specOf({ inputSize: 23, hidden, output, classes: 11 }), 9 + i, i);
      expect(c.kinkFlip).toBe(false);
      expectAgreement(c);
    }
  });

  it('on random specs: depth 1–6, widths 1–300, every sensible activation and loss, batch 1–257', async () => {
    const width = fc.integer({ min: 1, max: 300 });
    const caseArb = fc.record({
      inputSize: width,
      hidden: fc.array(fc.record({ units: width, activation: fc.constantFrom(...HIDDEN) }), { maxLength: 5 }),
      output: fc.constantFrom(...OUTPUTS),
      classes: width,
      batch: fc.integer({ min: 1, max: 257 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    // Every pair and kernel path has a fixed test above; these cases add shapes, which the
    // tfjs reference computes slowly: 20 of them.
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const comparison = await compare(specOf(c), c.batch, c.seed);
        fc.pre(!comparison.kinkFlip);
        expectAgreement(comparison);
      }),
      { seed: 20240601, numRuns: 20 },
    );
  });
});
