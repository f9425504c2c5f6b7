/**
 * Who owns which parameters across MPI ranks, and where each rank's part lies in the
 * buffers of the exchange. Rank r computes the contiguous shards r·L … r·L + L − 1 and
 * owns their reduction blocks (shards.ts, blockBounds): the same blocks as in one
 * process, so that the global norm of clipping sums the same block sums
 * in the same order. Pure arithmetic on sizes: no MPI here.
 */
import { blockBounds } from '../shards.js';

/** A reduction block: the run [lo, hi) of the parameter vector, at `offset` in its owner's packed part. */
export interface OwnedBlock {
  /** The block's index (= the global shard it belongs to). */
  readonly blk: number;
  readonly lo: number;
  readonly hi: number;
  readonly offset: number;
}

export interface ExchangeLayout {
  readonly ranks: number;
  readonly rank: number;
  /** Floats of the parameter vector. */
  readonly size: number;
  /** Per rank: the blocks it owns, packed one after another in block order. */
  readonly owned: ReadonlyArray<readonly OwnedBlock[]>;
  /** Per rank: floats it owns, and where its part starts when all parts are packed in rank order. */
  readonly counts: readonly number[];
  readonly displs: readonly number[];
}

export function exchangeLayout(size: number, shards: number, ranks: number, rank: number): ExchangeLayout {
  const local = shards / ranks;
  const owned: OwnedBlock[][] = [];
  const counts: number[] = [];
  for (let r = 0; r < ranks; r++) {
    let offset = 0;
    const blocks: OwnedBlock[] = [];
    for (let blk = r * local; blk < (r + 1) * local; blk++) {
      const [lo, hi] = blockBounds(size, shards, blk);
      blocks.push({ blk, lo, hi, offset });
      offset += hi - lo;
    }
    owned.push(blocks);
    counts.push(offset);
  }
  const displs = counts.map((_, r) => counts.slice(0, r).reduce((a, c) => a + c, 0));
  return { ranks, rank, size, owned, counts, displs };
}

/** out[offset …] = from[lo, hi) for each of `blocks`: a rank's part, packed. */
export function pack(from: Float32Array, blocks: readonly OwnedBlock[], out: Float32Array): void {
  for (const b of blocks) out.set(from.subarray(b.lo, b.hi), b.offset);
}

/** to[lo, hi) = packed[offset …] for each of `blocks`: the inverse of pack. */
export function unpack(packed: Float32Array, blocks: readonly OwnedBlock[], to: Float32Array): void {
  for (const b of blocks) to.set(packed.subarray(b.offset, b.offset + b.hi - b.lo), b.lo);
}

/**
 * out[offset …] = the tree sum (optim/reduce.ts) of `slotCount` slots of `size` floats over
 * each of `blocks`: a partial, packed. The slots are summed in place, whole runs at a
 * time, into slot 0 (the workers write them anew every step): per element through treeSum,
 * the partial of 2 shards took ~4.7 ms per step of the seed model instead of ~0.85
 * (`bench --comm mpi --workers 2 --batch-sizes 1000`).
 */
export function packTreeSum(slots: Float32Array, slotCount: number, size: number, blocks: readonly OwnedBlock[], out: Float32Array): void {
  for (const b of blocks) treeSumInPlace(slots, size, 0, slotCount, b.lo, b.hi);
  pack(slots, blocks, out);
}

/**
 * slots[first] over [lo, hi) = the tree sum of slots first … first + count − 1: the tree of
 * optim/reduce.ts written as its definition (left part: the largest power of two below the
 * count). A Float32Array store rounds the double sum of two float32 values exactly as a
 * float32 addition would.
 */
function treeSumInPlace(slots: Float32Array, size: number, first: number, count: number, lo: number, hi: number): void {
  if (count === 1) return;
  let left = 1;
  while (left * 2 < count) left *= 2;
  treeSumInPlace(slots, size, first, left, lo, hi);
  treeSumInPlace(slots, size, first + left, count - left, lo, hi);
  const sum = first * size;
  const right = (first + left) * size;
  for (let i = lo; i < hi; i++) slots[sum + i] += slots[right + i];
}
