import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reduceSlots } from '../src/optim/reduce.js';

describe('reduceSlots (the all-reduce that feeds Adam)', () => {
  it('sums slot 0, 1, 2 … in float32 in that order, then divides', () => {
    // In float32, 1e8 + 1 rounds back to 1e8, so only this order gives exactly 0.
    const slots = Float32Array.of(1e8, 5, 1, 6, -1e8, 7);
    const sumSq = reduceSlots(slots, 3, 2, 0, 2, 4);
    expect(slots[0]).toBe(0);
    expect(slots[1]).toBe(Math.fround(18 / 4));
    expect(sumSq).toBe(0 + (18 / 4) ** 2);
  });

  it('writes only slot 0 of the chunk [begin, end)', () => {
    const slots = Float32Array.from({ length: 12 }, (_, i) => i + 1); // 3 slots of 4
    reduceSlots(slots, 3, 4, 1, 3, 3);
    expect(Array.from(slots)).toEqual([1, (2 + 6 + 10) / 3, (3 + 7 + 11) / 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map(Math.fround));
  });

  it('gives the same bits however the buffer is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { minLength: 5, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (slotCount, values, cutSeeds) => {
          const size = Math.floor(values.length / slotCount);
          const whole = Float32Array.from(values);
          const pieces = Float32Array.from(values);
          const wholeSq = reduceSlots(whole, slotCount, size, 0, size, 7);
          const cuts = [0, ...cutSeeds.map((c) => c % (size + 1)).sort((a, b) => a - b), size];
          let piecesSq = 0;
          for (let i = 0; i + 1 < cuts.length; i++) piecesSq += reduceSlots(pieces, slotCount, size, cuts[i], cuts[i + 1], 7);
          expect(Array.from(pieces.subarray(0, size))).toEqual(Array.from(whole.subarray(0, size)));
          expect(Math.abs(piecesSq - wholeSq)).toBeLessThanOrEqual(1e-12 * wholeSq);
        },
      ),
    );
  });

  it('rejects a chunk outside a slot, a buffer smaller than its slots and a divisor ≤ 0', () => {
    expect(() => reduceSlots(new Float32Array(8), 2, 4, 0, 4, 0)).toThrow(/divisor must be > 0/);
    expect(() => reduceSlots(new Float32Array(8), 2, 4, 2, 5, 1)).toThrow(/outside/);
    expect(() => reduceSlots(new Float32Array(7), 2, 4, 0, 4, 1)).toThrow(/need 8 floats/);
  });
});
