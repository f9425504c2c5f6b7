/** From raw samples to the table a user reads: medians, speedup, the independent ceiling and efficiency against it. */
import { median } from '../median.js';
import type { StepBreakdown } from '../parallel/pool.js';
import type { ThroughputSample } from './throughput.js';

export interface Cell {
  readonly workers: number;
  readonly batchSize: number;
  /** Median over the repetitions. */
  readonly samplesPerSec: number;
  readonly stepSeconds: number;
  /** samples/s over the 1-worker cell of the same batch size. */
  readonly speedup: number;
  /**
   * The independent ceiling: W single-worker trainers at once, no communication, Σ samples/s
   * (throughput.ts), median over the repetitions. For 1 worker, the cell itself.
   */
  readonly ceiling: number;
  /** The ceiling over the 1-worker cell: what W cores give this machine's trainer without coordination. */
  readonly ceilingSpeedup: number;
  /**
   * samples/s over the ceiling measured right after it, median over the repetitions. It can
   * pass 1: data parallelism splits Adam's work across the workers, the ceiling does not.
   */
  readonly efficiency: number;
  /** The breakdown of the median repetition. */
  readonly breakdown: StepBreakdown;
  readonly repeats: number;
}

export function summarize(samples: readonly ThroughputSample[]): Cell[] {
  const groups = new Map<string, ThroughputSample[]>();
  for (const s of samples) {
    const key = `${s.workers}/${s.batchSize}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const medianSample = (group: ThroughputSample[]): ThroughputSample => {
    const sorted = [...group].sort((a, b) => a.samplesPerSec - b.samplesPerSec);
    return sorted[(sorted.length - 1) >> 1];
  };
  const rate = (workers: number, batchSize: number): number | undefined => {
    const group = groups.get(`${workers}/${batchSize}`);
    return group === undefined ? undefined : median(group.map((s) => s.samplesPerSec));
  };
  const cells: Cell[] = [];
  for (const group of groups.values()) {
    const { workers, batchSize } = group[0];
    const samplesPerSec = rate(workers, batchSize)!;
    const baseline = rate(1, batchSize);
    if (baseline === undefined) throw new Error(`no 1-worker cell for batch ${batchSize}: the speedup needs one`);
    const ceiling = median(group.map((s) => s.independent.samplesPerSec));
    cells.push({
      workers,
      batchSize,
      samplesPerSec,
      stepSeconds: batchSize / samplesPerSec,
      speedup: samplesPerSec / baseline,
      ceiling,
      ceilingSpeedup: ceiling / baseline,
      efficiency: median(group.map((s) => s.samplesPerSec / s.independent.samplesPerSec)),
      breakdown: medianSample(group).breakdown,
      repeats: group.length,
    });
  }
  return cells.sort((a, b) => a.batchSize - b.batchSize || a.workers - b.workers);
}
