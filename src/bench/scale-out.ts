/**
 * The scale-out model of `corefit bench --comm mpi`: from what one job measured here, the
 * samples/s and speedup that R machines (one rank each) would reach on a given link.
 *
 *   step(R) = compute · B / R  +  localReduce  +  update · R₀ / R  +  exchange(R)
 *   exchange(R) = 2 (R − 1) α  +  2 (R − 1) / R · P · 4 bytes / link  +  ⌈log₂ R⌉ α
 *
 * compute: seconds per sample of one rank; localReduce: summing a rank's own shards (does
 * not change with R); update: Adam and the copies of the measured job's R₀ ranks, which
 * shrink with the block a rank owns; α: the latency of one message. The exchange is the
 * alltoallv of the partial gradients and the allgatherv of the parameters, each R − 1
 * messages of P·4/R bytes per rank, plus the allgather of the step's losses.
 */

export interface ScaleOutInputs {
  /** Seconds of compute per sample on one rank. */
  readonly computePerSample: number;
  /** Seconds per step summing a rank's own shards. */
  readonly localReduce: number;
  /** Seconds per step of the update (Adam on owned blocks, packing), measured with `measuredRanks` ranks. */
  readonly update: number;
  readonly measuredRanks: number;
  /** Seconds of one message's latency. */
  readonly latency: number;
  /** Parameters of the model (floats). */
  readonly params: number;
}

export interface Projection {
  readonly ranks: number;
  readonly linkGbits: number;
  readonly batchSize: number;
  readonly stepSeconds: number;
  readonly samplesPerSec: number;
  /** Against one machine at the same batch size. */
  readonly speedup: number;
}

export const PROJECTED_RANKS: readonly number[] = [1, 2, 4, 8, 16, 32, 64];
export const LINKS_GBITS: readonly number[] = [10, 25, 100];

/** Seconds of one step with R ranks exchanging at `bytesPerSecond` (R = 1: no exchange). */
export function stepSeconds(m: ScaleOutInputs, ranks: number, batchSize: number, bytesPerSecond: number): number {
  const compute = (m.computePerSample * batchSize) / ranks;
  if (ranks === 1) return compute + m.localReduce + m.update * m.measuredRanks;
  const messages = 2 * (ranks - 1) + Math.ceil(Math.log2(ranks));
  const bytes = (2 * (ranks - 1) * m.params * 4) / ranks;
  return compute + m.localReduce + (m.update * m.measuredRanks) / ranks + messages * m.latency + bytes / bytesPerSecond;
}

export function project(m: ScaleOutInputs, batchSizes: readonly number[], ranks = PROJECTED_RANKS, links = LINKS_GBITS): Projection[] {
  const out: Projection[] = [];
  for (const linkGbits of links) {
    const bytesPerSecond = (linkGbits * 1e9) / 8;
    for (const batchSize of batchSizes) {
      const one = batchSize / stepSeconds(m, 1, batchSize, bytesPerSecond);
      for (const r of ranks) {
        const step = stepSeconds(m, r, batchSize, bytesPerSecond);
        out.push({ ranks: r, linkGbits, batchSize, stepSeconds: step, samplesPerSec: batchSize / step, speedup: batchSize / step / one });
      }
    }
  }
  return out;
}

/** Latency and bytes/s of a transfer from the median seconds of two sizes (same-pattern messages). */
export function fitLink(small: { bytes: number; seconds: number }, large: { bytes: number; seconds: number }): { latency: number; bytesPerSecond: number } {
  const bytesPerSecond = (large.bytes - small.bytes) / Math.max(1e-9, large.seconds - small.seconds);
  return { latency: Math.max(0, small.seconds - small.bytes / bytesPerSecond), bytesPerSecond };
}
