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
 * Chunks per reduction block. Reducing and updating a parameter does not cost the same
 * everywhere: Adam's divisions are ~3× slower where m is subnormal, and such m cluster
 * (first-layer weights of pixels that are almost always 0). So each block takes chunks
 * from all over the vector rather than one stretch. On the seed model after 1500 steps
 * the slower of 2 blocks takes ~99 µs instead of ~120 µs; 2 to 8 chunks do about as
 * well (scripts/reduce-adam.ts).
 */
const CHUNKS_PER_BLOCK = 4;

/**
 * The chunks [begin, end) of reduction block `blk` when `size` parameters are cut into
 * `blocks` blocks: the vector is cut into blocks · CHUNKS_PER_BLOCK near-equal chunks, and
 * chunk j belongs to block j mod blocks.
 */
export function blockChunks(size: number, blocks: number, blk: number): Array<[number, number]> {
  const chunks: Array<[number, number]> = [];
  for (let j = blk; j < blocks * CHUNKS_PER_BLOCK; j += blocks) chunks.push(shardBounds(size, blocks * CHUNKS_PER_BLOCK, j));
  return chunks;
}
