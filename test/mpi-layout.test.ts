/** The arithmetic of the MPI transport, without MPI: who owns which parameters, and the scale-out model. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitLink, project, stepSeconds, type ScaleOutInputs } from '../src/bench/scale-out.js';
import { treeSum } from '../src/optim/reduce.js';
import { exchangeLayout, pack, packTreeSum, unpack } from '../src/parallel/mpi/layout.js';
import { blockBounds } from '../src/parallel/shards.js';

describe('exchangeLayout', () => {
  it.each([
    [1000, 2, 2],
    [1001, 4, 2],
    [997, 8, 4],
    [50, 4, 4],
  ])('%i parameters, %i shards over %i ranks: every parameter has one owner, the blocks of its shards', (size, shards, ranks) => {
    const owner = new Int32Array(size).fill(-1);
    const layout = exchangeLayout(size, shards, ranks, 0);
    for (let r = 0; r < ranks; r++) {
      const blocks = layout.owned[r];
      expect(blocks.map((b) => b.blk)).toEqual(Array.from({ length: shards / ranks }, (_, i) => (r * shards) / ranks + i));
      for (const b of blocks) {
        expect([b.lo, b.hi]).toEqual(blockBounds(size, shards, b.blk));
        for (let i = b.lo; i < b.hi; i++) owner[i] = owner[i] === -1 ? r : -2;
      }
      expect(layout.displs[r]).toBe(layout.counts.slice(0, r).reduce((a, c) => a + c, 0));
    }
    expect(Array.from(owner).every((o) => o >= 0)).toBe(true);
    expect(layout.counts.reduce((a, c) => a + c, 0)).toBe(size);
  });

  it('packs a rank part densely and unpacks it back in place', () => {
    const size = 103;
    const layout = exchangeLayout(size, 4, 2, 1);
    const params = Float32Array.from({ length: size }, (_, i) => i);
    const packed = new Float32Array(layout.counts[1]);
    pack(params, layout.owned[1], packed);
    const back = new Float32Array(size);
    unpack(packed, layout.owned[1], back);
    for (const b of layout.owned[1]) expect(Array.from(back.subarray(b.lo, b.hi))).toEqual(Array.from(params.subarray(b.lo, b.hi)));
    expect(Array.from(packed)).toEqual(layout.owned[1].flatMap((b) => Array.from(params.subarray(b.lo, b.hi))));
  });
});

describe("packTreeSum: a rank's partial", () => {
  it('of 2^k shards per rank, summed over the ranks in the same tree, is the tree sum of all shards, bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e8, max: 1e8 }), { minLength: 48 * 5, maxLength: 48 * 5 }),
        (ranks, log2Local, values) => {
          const local = 2 ** log2Local;
          const shards = ranks * local;
          const size = 5;
          const slots = Float32Array.from(values.slice(0, shards * size));
          const original = Float32Array.from(slots); // packTreeSum sums into the slots
          const layout = exchangeLayout(size, shards, ranks, 0);
          // Each rank's partial of every rank's blocks, as the alltoallv sends them: [ranks, size] in owner order.
          const partials = new Float32Array(ranks * size);
          for (let r = 0; r < ranks; r++) {
            const mine = slots.subarray(r * local * size, (r + 1) * local * size);
            for (let o = 0; o < ranks; o++) {
              packTreeSum(mine, local, size, layout.owned[o], partials.subarray(r * size + layout.displs[o], r * size + layout.displs[o] + layout.counts[o]));
            }
          }
          for (let o = 0; o < ranks; o++) {
            for (const b of layout.owned[o]) {
              for (let i = b.lo; i < b.hi; i++) {
                const at = layout.displs[o] + b.offset + i - b.lo;
                expect(treeSum(partials, ranks, size, at)).toBe(treeSum(original, shards, size, i));
              }
            }
          }
        },
      ),
    );
  });
});

describe('the scale-out model', () => {
  const m: ScaleOutInputs = { computePerSample: 20e-6, localReduce: 1e-4, update: 2e-4, measuredRanks: 2, latency: 10e-6, params: 250_000 };

  it('adds compute, update and the exchange of 2 (R − 1) messages of 4P/R bytes (and the losses) per step', () => {
    const link = 1.25e9; // 10 Gbit/s
    expect(stepSeconds(m, 1, 1000, link)).toBeCloseTo(20e-3 + 1e-4 + 4e-4, 12);
    const r = 4;
    const expected = (20e-6 * 1000) / r + 1e-4 + (2e-4 * 2) / r + (2 * (r - 1) + 2) * 10e-6 + (2 * (r - 1) * 250_000 * 4) / r / link;
    expect(stepSeconds(m, r, 1000, link)).toBeCloseTo(expected, 12);
  });

  it('projects speedups that are 1 for one machine and grow with the link and the batch', () => {
    const p = project(m, [1000, 16000], [1, 2, 64], [10, 100]);
    const at = (ranks: number, link: number, batch: number) => p.find((x) => x.ranks === ranks && x.linkGbits === link && x.batchSize === batch)!;
    expect(at(1, 10, 1000).speedup).toBe(1);
    expect(at(64, 100, 1000).speedup).toBeGreaterThan(at(64, 10, 1000).speedup);
    expect(at(64, 10, 16000).speedup).toBeGreaterThan(at(64, 10, 1000).speedup);
    expect(at(64, 100, 16000).speedup).toBeLessThan(64);
  });

  it('fits latency and bandwidth to two message sizes', () => {
    const link = fitLink({ bytes: 1000, seconds: 10e-6 + 1000 / 2e9 }, { bytes: 1e6, seconds: 10e-6 + 1e6 / 2e9 });
    expect(link.bytesPerSecond).toBeCloseTo(2e9, -3);
    expect(link.latency).toBeCloseTo(10e-6, 9);
  });
});
