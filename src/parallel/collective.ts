/**
 * The collective part of a training step: everything after the gradients are in their
 * slots (ARCHITECTURE.md, "Data flow of one step"). Each worker reduces its own
 * reduction blocks across the slots in the pairwise tree order (optim/reduce.ts), the
 * global norm is clipped, Adam updates the block (its bias correction computed here, once
 * per step), and divergence is detected. The engine computes gradients only, and the
 * update kernels are plain vector loops.
 *
 * This transport is the SharedArrayBuffer of one process: worker w owns blocks w,
 * w + workers, … of the parameter vector. The transport across processes is MPI
 * (parallel/mpi/cross-rank.ts, run by a communication thread): it reduces the same blocks
 * in the same tree order and updates them through the same kernels, with the ranks'
 * partial sums as slots, and records divergence here (recordDivergence). The reduce
 * and Adam are one fused pass per block (UpdateKernels.reduceAdam): the slots are summed
 * as they are read, never written back. Clipping adds a read-only norm pass before it
 * and a barrier, since Adam then waits for every block's norm.
 */
import type { AdamConfig } from '../model/spec.js';
import { adamScalars } from '../optim/adam.js';
import { learningRateAt } from '../optim/schedule.js';
import type { UpdateKernels } from '../optim/update-kernels.js';
import type { SharedBuffers } from './buffers.js';
import { barrier, CONTROL } from './control.js';
import { blockBounds, ownedBy } from './shards.js';
import type { StepPlan } from './tasks.js';

/** What became non-finite, as CONTROL.DIVERGED_IN records it (by index). */
export const DIVERGED_WHAT = ['loss', 'gradient', 'weight'] as const;
export type DivergedWhat = (typeof DIVERGED_WHAT)[number];

export interface Divergence {
  /** The 1-based step at which it was seen. */
  readonly step: number;
  readonly what: DivergedWhat;
}

/** The divergence a run recorded in the control block, or undefined when all stayed finite. */
export function divergenceOf(control: Int32Array): Divergence | undefined {
  const step = Atomics.load(control, CONTROL.DIVERGED_AT);
  return step === 0 ? undefined : { step, what: DIVERGED_WHAT[Atomics.load(control, CONTROL.DIVERGED_IN)] };
}

/** Records the first divergence of the run; later ones (another block, another worker, another rank's report) keep it. */
export function recordDivergence(control: Int32Array, step: number, what: DivergedWhat): void {
  if (Atomics.compareExchange(control, CONTROL.DIVERGED_AT, 0, step) === 0) {
    Atomics.store(control, CONTROL.DIVERGED_IN, DIVERGED_WHAT.indexOf(what));
  }
}

/**
 * The step's loss: Σ of the shards' loss sums in shard order, in one process and across
 * ranks alike, so that every worker and rank sees the same value and agrees on divergence.
 */
export function stepLossOf(shardLoss: Float64Array, shards: number): number {
  let loss = 0;
  for (let s = 0; s < shards; s++) loss += shardLoss[s];
  return loss;
}

/** Clipping's gradient scale: the global norm from the blocks' Σ g², summed in block order; 1 when within clipNorm. */
export function clipScale(blockSumSq: Float64Array, blocks: number, clipNorm: number): number {
  let sumSq = 0;
  for (let blk = 0; blk < blocks; blk++) sumSq += blockSumSq[blk];
  const norm = Math.sqrt(sumSq);
  return norm > clipNorm ? clipNorm / norm : 1;
}

/** One worker's side of the collective step over the shared buffers. */
export class SharedCollective {
  private readonly paramCount: number;
  private readonly blocks: ReadonlyArray<{ readonly blk: number; readonly lo: number; readonly hi: number }>;

  constructor(
    private readonly kernels: UpdateKernels,
    private readonly b: SharedBuffers,
    private readonly plan: StepPlan,
    rank: number,
    private readonly optimizer: AdamConfig,
  ) {
    this.paramCount = b.params.length;
    // A worker owns the reduction blocks of the shards it owns: the same split for any worker count.
    this.blocks = ownedBy(rank, plan.workers, plan.shards).map((blk) => {
      const [lo, hi] = blockBounds(this.paramCount, plan.shards, blk);
      return { blk, lo, hi };
    });
  }

  /**
   * Step t, after every worker's gradients and shard losses are in place (past the
   * barrier): the step's Σ loss, or undefined when it is not finite, in which case
   * nothing was updated. `rows` is the rows of the global batch, which divide the sum.
   */
  step(t: number, rows: number): number | undefined {
    const { b, plan, kernels } = this;
    const stepLoss = stepLossOf(b.shardLoss, plan.shards);
    if (!Number.isFinite(stepLoss)) {
      recordDivergence(b.control, t, 'loss');
      return undefined;
    }

    let gradScale = 1;
    if (plan.clipNorm > 0) {
      // Clipping needs the global norm before any update: a read-only pass, then a barrier.
      for (const { blk, lo, hi } of this.blocks) b.blockSumSq[blk] = kernels.gradientSumOfSquares(b.slots, plan.shards, this.paramCount, lo, hi, 1 / rows);
      barrier(b.control, plan.workers);
      gradScale = clipScale(b.blockSumSq, plan.shards, plan.clipNorm);
    }
    const scalars = adamScalars({ t, lr: learningRateAt(plan.schedule, t), config: this.optimizer, gradScale }, rows);
    for (const { lo, hi } of this.blocks) {
      const finite = kernels.reduceAdam(b.params, b.m, b.v, b.slots, plan.shards, lo, hi, scalars);
      // The update has made this block's weights non-finite too (a non-finite norm makes
      // g non-finite through gradScale); the coordinator stops before any checkpoint.
      if (!finite) recordDivergence(b.control, t, 'gradient');
    }
    return stepLoss;
  }

  /**
   * After the last step of a run (past its barrier): an update can overflow a weight with
   * a finite loss and gradient. The next step's loss would show it, but not before the
   * weights were checkpointed (or returned), so each worker checks its own blocks.
   */
  checkWeights(t: number): void {
    for (const { lo, hi } of this.blocks) {
      for (let i = lo; i < hi; i++) {
        if (!Number.isFinite(this.b.params[i])) {
          recordDivergence(this.b.control, t, 'weight');
          return;
        }
      }
    }
  }
}
