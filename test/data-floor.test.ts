import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/dataset.js';
import { firstRows } from '../src/parallel/buffers.js';
import { bceFloor, binaryEntropy, meanBinaryEntropy } from '../src/data/floor.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';

/** Binary cross-entropy of one value, unclipped. */
const bce = (y: number, p: number): number => -y * Math.log(p) - (1 - y) * Math.log(1 - p);

describe('binaryEntropy', () => {
  it('is 0 at 0 and 1 (0·ln 0 = 0), ln 2 at 1/2, and symmetric', () => {
    expect(binaryEntropy(0)).toBe(0);
    expect(binaryEntropy(1)).toBe(0);
    expect(binaryEntropy(0.5)).toBeCloseTo(Math.LN2, 15);
    expect(binaryEntropy(0.2)).toBeCloseTo(binaryEntropy(0.8), 15);
    expect(binaryEntropy(0.2)).toBeCloseTo(-0.2 * Math.log(0.2) - 0.8 * Math.log(0.8), 15);
  });

  it('is the smallest BCE a prediction can reach on a target y, at p = y', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.double({ min: 0.001, max: 0.999, noNaN: true }), (y, p) => {
        expect(bce(y, y)).toBeCloseTo(binaryEntropy(y), 12);
        expect(bce(y, p)).toBeGreaterThanOrEqual(binaryEntropy(y) - 1e-12);
      }),
      { numRuns: 300 },
    );
  });
});

describe('meanBinaryEntropy', () => {
  it('is the mean of H over the values', () => {
    expect(meanBinaryEntropy(Float32Array.of(0, 1, 0.5, 0.25))).toBeCloseTo((Math.LN2 + binaryEntropy(0.25)) / 4, 7);
    expect(meanBinaryEntropy(Float32Array.of(0, 1, 1, 0))).toBe(0);
  });

  it('is null for values outside [0, 1], NaN, or no values', () => {
    expect(meanBinaryEntropy(Float32Array.of(0, 0.5, 7))).toBeNull();
    expect(meanBinaryEntropy(Float32Array.of(0.5, -0.01))).toBeNull();
    expect(meanBinaryEntropy(Float32Array.of(0.5, NaN))).toBeNull();
    expect(meanBinaryEntropy(new Float32Array(0))).toBeNull();
  });
});

describe('bceFloor', () => {
  const grey = { x: Float32Array.of(0.5, 0.5) };

  it('exists only for binary cross-entropy on reconstructed inputs', () => {
    expect(bceFloor(DEFAULT_SPEC, grey)).toBeCloseTo(Math.LN2, 7);
    expect(bceFloor({ ...DEFAULT_SPEC, loss: 'mse' }, grey)).toBeNull();
    expect(bceFloor({ ...DEFAULT_SPEC, loss: 'sparse_categorical_crossentropy', target: 'label' }, grey)).toBeNull();
  });

  it('is about 0.0584 for the MNIST training images ÷ 255, and has none on raw pixels', async () => {
    const normalized = await loadDataset({ normalize: true });
    expect(bceFloor(DEFAULT_SPEC, normalized.train)).toBeCloseTo(0.0584, 4);
    // train() reads it through a view of the rows it uses, as here.
    expect(bceFloor(DEFAULT_SPEC, firstRows(normalized.train, normalized.train.rows))).toBe(bceFloor(DEFAULT_SPEC, normalized.train));
    const raw = await loadDataset({ normalize: false });
    expect(bceFloor({ ...DEFAULT_SPEC, normalize: false }, raw.train)).toBeNull();
  });
});

describe('bceFloor is remembered per memory viewed', () => {
  // A loaded data set is never written; the writes below only show whether the values are read again.
  it('answers again without reading the values, also through a new view of the same memory', () => {
    const x = Float32Array.of(0.5, 0.5, 0.25, 0.75);
    const floor = bceFloor(DEFAULT_SPEC, { x });
    expect(floor).toBe(meanBinaryEntropy(x));
    x[0] = 0;
    expect(bceFloor(DEFAULT_SPEC, { x })).toBe(floor);
    // train() passes firstRows() views, new objects each run over the same memory.
    expect(bceFloor(DEFAULT_SPEC, { x: x.subarray(0) })).toBe(floor);
    // meanBinaryEntropy itself stays a plain function of the values.
    expect(meanBinaryEntropy(x)).not.toBe(floor);
  });

  it('keeps views of other rows, and copies, apart', () => {
    const x = Float32Array.of(0.5, 0.5, 0, 0);
    expect(bceFloor(DEFAULT_SPEC, { x })).toBeCloseTo(Math.LN2 / 2, 7);
    expect(bceFloor(DEFAULT_SPEC, { x: x.subarray(0, 2) })).toBeCloseTo(Math.LN2, 7);
    expect(bceFloor(DEFAULT_SPEC, { x: x.subarray(2) })).toBe(0);
    const copy = x.slice();
    copy.fill(0.5, 2);
    expect(bceFloor(DEFAULT_SPEC, { x: copy })).toBeCloseTo(Math.LN2, 7);
    expect(bceFloor(DEFAULT_SPEC, { x })).toBeCloseTo(Math.LN2 / 2, 7);
  });

  it('remembers that there is no floor, too', () => {
    const x = Float32Array.of(0.5, 7);
    expect(bceFloor(DEFAULT_SPEC, { x })).toBeNull();
    x[1] = 0.5;
    expect(bceFloor(DEFAULT_SPEC, { x })).toBeNull();
    expect(meanBinaryEntropy(x)).toBeCloseTo(Math.LN2, 7);
  });
});
