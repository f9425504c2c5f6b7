import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERAS_ADAM } from '../src/model/spec.js';
import { adamScalars, reduceAdam } from '../src/optim/adam.js';
import { meanGradientSumOfSquares, treeSum } from '../src/optim/reduce.js';
import { sameBits } from './helpers/float-arrays.js';

const f32 = Math.fround;
const step = { t: 3, lr: 0.001, config: KERAS_ADAM, gradScale: 1 };

describe('the all-reduce fused into Adam', () => {
  it('sums the slots in float32 in the pairwise tree, then scales by 1 / rows: 3 slots as (0 + 1) + 2', () => {
    // In float32, 1e8 + 1 rounds back to 1e8, so only this order gives exactly 0.
    const slots = Float32Array.of(1e8, 5, 1, 6, -1e8, 7);
    const m = new Float32Array(2);
    const params = Float32Array.of(0.5, 0.5);
    reduceAdam(params, m, new Float32Array(2), slots, 3, 0, 2, adamScalars({ ...step, t: 1 }, 4));
    expect(Array.from(m)).toEqual([0, f32(f32(0.1) * f32(18 * f32(1 / 4)))]);
    expect(params[0]).toBe(0.5); // g = 0 moves nothing
    expect(meanGradientSumOfSquares(slots, 3, 2, 0, 2, 1 / 4)).toBe(0 + (18 / 4) ** 2);
  });

  it('sums 4 slots as (0 + 1) + (2 + 3) and 6 as ((0 + 1) + (2 + 3)) + (4 + 5), not in slot order', () => {
    // Slot order would give ((1e8 + 1) − 1e8) + 1 = 1.
    expect(treeSum(Float32Array.of(1e8, 1, -1e8, 1), 4, 1, 0)).toBe(0);
    // ((1 + 1e8) + (−1e8 + 1)) + (3 + 0) = 3; slot order gives 4.
    expect(treeSum(Float32Array.of(1, 1e8, -1e8, 1, 3, 0), 6, 1, 0)).toBe(3);
    // 5 slots: ((1 + 1) + (1e8 − 1e8)) + 0 = 2; slot order gives ((2 + 1e8) − 1e8) + 0 = 0.
    expect(treeSum(Float32Array.of(1, 1, 1e8, -1e8, 0), 5, 1, 0)).toBe(2);
    const m = new Float32Array(1);
    reduceAdam(new Float32Array(1), m, new Float32Array(1), Float32Array.of(1e8, 1, -1e8, 1), 4, 0, 1, adamScalars({ ...step, t: 1 }, 1));
    expect(m[0]).toBe(0);
  });

  it('sums any number of slots in the order of the recursive definition (left part: the largest power of two below the count)', () => {
    // The definition itself, written independently of treeSum's stack.
    const reference = (values: readonly number[]): number => {
      if (values.length === 1) return values[0];
      let left = 1;
      while (left * 2 < values.length) left *= 2;
      return f32(reference(values.slice(0, left)) + reference(values.slice(left)));
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e8, max: 1e8 }), { minLength: 120, maxLength: 120 }),
        (slotCount, size, values) => {
          const slots = Float32Array.from(values.slice(0, slotCount * size));
          for (let i = 0; i < size; i++) {
            const column = Array.from({ length: slotCount }, (_, s) => slots[s * size + i]);
            expect(treeSum(slots, slotCount, size, i)).toBe(reference(column));
          }
        },
      ),
    );
  });

  it('only reads the slots', () => {
    const slots = Float32Array.from({ length: 12 }, (_, i) => i + 1); // 3 slots of 4
    const before = Float32Array.from(slots);
    reduceAdam(new Float32Array(4), new Float32Array(4), new Float32Array(4), slots, 3, 1, 3, adamScalars(step, 3));
    expect(sameBits(slots, before)).toBe(true);
  });

  it('gives the same bits however the buffer is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 5, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (slotCount, values, cutSeeds) => {
          const size = Math.floor(values.length / slotCount);
          const slots = Float32Array.from(values);
          const start = slots.slice(0, size);
          const whole = [Float32Array.from(start), new Float32Array(size), new Float32Array(size)];
          const pieces = [Float32Array.from(start), new Float32Array(size), new Float32Array(size)];
          const wholeSq = meanGradientSumOfSquares(slots, slotCount, size, 0, size, 1 / 7);
          reduceAdam(whole[0], whole[1], whole[2], slots, slotCount, 0, size, adamScalars(step, 7));
          const cuts = [0, ...cutSeeds.map((c) => c % (size + 1)).sort((a, b) => a - b), size];
          let piecesSq = 0;
          for (let i = 0; i + 1 < cuts.length; i++) {
            piecesSq += meanGradientSumOfSquares(slots, slotCount, size, cuts[i], cuts[i + 1], 1 / 7);
            reduceAdam(pieces[0], pieces[1], pieces[2], slots, slotCount, cuts[i], cuts[i + 1], adamScalars(step, 7));
          }
          for (let k = 0; k < 3; k++) expect(sameBits(pieces[k], whole[k])).toBe(true);
          expect(Math.abs(piecesSq - wholeSq)).toBeLessThanOrEqual(1e-12 * wholeSq);
        },
      ),
    );
  });

  it('says whether every gradient was finite', () => {
    const buffers = (): Float32Array[] => [new Float32Array(3), new Float32Array(3), new Float32Array(3)];
    const [p, m, v] = buffers();
    expect(reduceAdam(p, m, v, Float32Array.of(1, 2, 3, 4, 5, 6), 2, 0, 3, adamScalars(step, 2))).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const [p2, m2, v2] = buffers();
      expect(reduceAdam(p2, m2, v2, Float32Array.of(1, 2, 3, 4, bad, 6), 2, 0, 3, adamScalars(step, 2))).toBe(false);
    }
    // Finite slots whose float32 sum overflows are not finite either.
    const [p3, m3, v3] = buffers();
    expect(reduceAdam(p3, m3, v3, Float32Array.of(3e38, 0, 0, 3e38, 0, 0), 2, 0, 3, adamScalars(step, 1))).toBe(false);
  });

  it('rejects a chunk outside a slot and a buffer smaller than its slots', () => {
    expect(() => meanGradientSumOfSquares(new Float32Array(8), 2, 4, 2, 5, 1)).toThrow(/outside/);
    expect(() => meanGradientSumOfSquares(new Float32Array(7), 2, 4, 0, 4, 1)).toThrow(/need 8 floats/);
    expect(() => meanGradientSumOfSquares(new Float32Array(8), 0, 4, 0, 4, 1)).toThrow(/slotCount must be a whole number ≥ 1/);
  });
});
