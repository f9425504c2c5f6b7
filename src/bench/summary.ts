/** From raw samples to the table a user reads: medians, speedup and efficiency. */
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
  /** speedup / workers. */
  readonly efficiency: number;
  /** The breakdown of the median repetition. */
  readonly breakdown: StepBreakdown;
  readonly repeats: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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
    const speedup = samplesPerSec / baseline;
    cells.push({
      workers, batchSize, samplesPerSec, stepSeconds: batchSize / samplesPerSec, speedup, efficiency: speedup / workers,
      breakdown: medianSample(group).breakdown, repeats: group.length,
    });
  }
  return cells.sort((a, b) => a.batchSize - b.batchSize || a.workers - b.workers);
}
