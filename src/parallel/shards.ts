/**
 * How a global batch is cut into shards and how the parameter vector is cut into
 * reduction blocks. Both depend only on sizes and the shard count, never on the
 * worker count, which is what makes results identical for any number of workers.
 */

/** Rows [begin, end) of shard s when `rows` rows are cut into `shards` near-equal shards. */
export function shardBounds(rows: number, shards: number, s: number): [number, number] {
  return [Math.floor((s * rows) / shards), Math.floor(((s + 1) * rows) / shards)];
}

/** The shards (and the parameter blocks) that worker `rank` of `workers` owns: rank, rank + workers, … */
export function ownedBy(rank: number, workers: number, count: number): number[] {
  const owned: number[] = [];
  for (let i = rank; i < count; i += workers) owned.push(i);
  return owned;
}

/**
 * The parameters [begin, end) of reduction block `blk` when `size` parameters are cut into
 * `blocks` near-equal blocks. One stretch per block: with the update kernels' moments
 * flushed below the smallest normal float (optim/adam.ts), every parameter costs the same
 * to update, so no block needs stretches from all over the vector to balance the work
 * (scripts/reduce-adam.ts times both layouts).
 */
export function blockBounds(size: number, blocks: number, blk: number): [number, number] {
  return shardBounds(size, blocks, blk);
}
