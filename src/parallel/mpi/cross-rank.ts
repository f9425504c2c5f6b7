/**
 * The collective step across MPI ranks, run by each process's communication thread
 * (workers/comm-thread.ts) while the process's workers wait in their barrier:
 *
 *   1. every rank's shard losses and stop request, to every rank (allgather);
 *   2. the process's shards summed locally in tree order into one partial gradient;
 *   3. each rank sends every other rank that rank's blocks of its partial (alltoallv);
 *   4. clipping's global norm: the owned blocks' sums of squares, in block order (allgather);
 *   5. the owner applies the fused reduce + Adam (UpdateKernels.reduceAdam) to its blocks,
 *      with the ranks' partials as its slots: summed in rank order in the same tree, which
 *      is the tree over all shards (a rank's 2^k shards are one subtree), so g has the same
 *      bits as in one process. m and v live here, packed, for those blocks alone
 *      (optimizer state sharded across ranks, as ZeRO stage 1);
 *   6. the updated parameters to every rank (allgatherv), with whether a gradient was not finite.
 *
 * Bytes sent per rank and step: its partial minus its own part, plus its own part of the
 * parameters to each other rank; nothing grows with the workers of a rank.
 */
import { CommError } from '../../errors.js';
import type { EngineName } from '../../engine/engine.js';
import { updateKernelsFor } from '../../engine/select.js';
import type { AdamConfig } from '../../model/spec.js';
import { adamScalars } from '../../optim/adam.js';
import { learningRateAt } from '../../optim/schedule.js';
import type { UpdateKernels } from '../../optim/update-kernels.js';
import { PROGRESS, type SharedBuffers } from '../buffers.js';
import { clipScale, recordDivergence, stepLossOf } from '../collective.js';
import { AbortedError, barrier, BarrierTimeoutError, CONTROL } from '../control.js';
import type { StepPlan } from '../tasks.js';
import type { MpiAddon, WaitResult } from './addon.js';
import { exchangeLayout, pack, packTreeSum, unpack, type ExchangeLayout, type OwnedBlock } from './layout.js';

export interface RankInfo {
  readonly rank: number;
  readonly ranks: number;
  readonly host: string;
}

/** What stays fixed for a training session. */
export interface CrossRankSetup {
  readonly buffers: SharedBuffers;
  readonly plan: StepPlan;
  readonly optimizer: AdamConfig;
  /** Whose update kernels: the same as the workers' engine would use in one process. */
  readonly kernels: EngineName;
  /** --comm-timeout: seconds before a wait for another rank or own workers gives up; 0 never. */
  readonly timeoutSeconds: number;
}

/** Seconds and bytes of the exchange, summed over the steps of the current run. */
export interface ExchangeTotals {
  steps: number;
  localReduce: number;
  exchange: number;
  update: number;
  bytesSent: number;
}

export class CrossRank {
  private readonly layout: ExchangeLayout;
  private readonly mine: readonly OwnedBlock[];
  private readonly myCount: number;
  private readonly kernels: UpdateKernels;
  /** Adam's moments of the owned blocks, packed. */
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly send: Float32Array;
  private readonly sendCounts: Int32Array;
  private readonly sendDispls: Int32Array;
  /** [ranks, myCount]: each rank's partial of the owned blocks, as "slots" of the reduce. */
  private readonly partials: Float32Array;
  private readonly partialCounts: Int32Array;
  private readonly partialDispls: Int32Array;
  /** The owned parameters packed, then one float: 1 where a block diverged. */
  private readonly ownParams: Float32Array;
  private readonly gathered: Float32Array;
  private readonly gatherCounts: Int32Array;
  private readonly gatherDispls: Int32Array;
  private readonly lossesOut: Float64Array;
  private readonly lossesIn: Float64Array;
  private readonly sumSqOut: Float64Array;
  private readonly sumSqIn: Float64Array;
  readonly totals: ExchangeTotals = { steps: 0, localReduce: 0, exchange: 0, update: 0, bytesSent: 0 };

  constructor(
    private readonly mpi: MpiAddon,
    private readonly info: RankInfo,
    private readonly setup: CrossRankSetup,
  ) {
    const { buffers: b, plan } = setup;
    const size = b.params.length;
    const R = info.ranks;
    this.layout = exchangeLayout(size, plan.shards, R, info.rank);
    this.mine = this.layout.owned[info.rank];
    this.myCount = this.layout.counts[info.rank];
    this.kernels = updateKernelsFor(setup.kernels);
    this.m = new Float32Array(this.myCount);
    this.v = new Float32Array(this.myCount);
    pack(b.m, this.mine, this.m);
    pack(b.v, this.mine, this.v);
    const bytes = (floats: readonly number[]): Int32Array => Int32Array.from(floats, (f) => f * 4);
    this.send = new Float32Array(size);
    this.sendCounts = bytes(this.layout.counts);
    this.sendDispls = bytes(this.layout.displs);
    this.partials = new Float32Array(R * this.myCount);
    this.partialCounts = bytes(this.layout.counts.map(() => this.myCount));
    this.partialDispls = bytes(this.layout.counts.map((_, r) => r * this.myCount));
    this.ownParams = new Float32Array(this.myCount + 1);
    this.gathered = new Float32Array(size + R);
    this.gatherCounts = bytes(this.layout.counts.map((c) => c + 1));
    this.gatherDispls = bytes(this.layout.displs.map((d, r) => d + r));
    this.lossesOut = new Float64Array(plan.localShards + 1);
    this.lossesIn = new Float64Array(R * (plan.localShards + 1));
    this.sumSqOut = new Float64Array(plan.localShards);
    this.sumSqIn = new Float64Array(plan.shards);
  }

  /** Steps [stepBegin, stepEnd) of the epoch, in step with the process's workers; returns the steps done. */
  run(stepsBefore: number, stepBegin: number, stepEnd: number): number {
    const { buffers: b, plan } = this.setup;
    const control = b.control;
    const parties = plan.workers + 1;
    const rowsPerStep = plan.batchSize * plan.accumulate;
    Object.assign(this.totals, { steps: 0, localReduce: 0, exchange: 0, update: 0, bytesSent: 0 });
    let done = 0;
    for (let k = stepBegin; k < stepEnd; k++) {
      const t = stepsBefore + done + 1;
      this.waitForWorkers(t);
      const stepBegun = k * rowsPerStep;
      const rows = Math.min(stepBegun + rowsPerStep, b.train.rows) - stepBegun;
      const outcome = this.step(t, rows);
      if (outcome.lossDiverged) {
        recordDivergence(control, t, 'loss');
      } else {
        if (outcome.gradientDiverged) recordDivergence(control, t, 'gradient');
        // The parameters are the same on every rank, so every rank checks them all and all agree.
        else if ((outcome.stop || k + 1 === stepEnd) && !b.params.every(Number.isFinite)) recordDivergence(control, t, 'weight');
        b.progress[PROGRESS.LOSS_SUM] += outcome.loss;
        b.progress[PROGRESS.ROWS] += rows;
        Atomics.add(control, CONTROL.STEPS_DONE, 1);
        Atomics.notify(control, CONTROL.STEPS_DONE);
      }
      // Every rank decides the same: they saw the same stop requests and divergences.
      if (outcome.stop) Atomics.store(control, CONTROL.STOPPING, 1);
      barrier(control, parties);
      if (outcome.lossDiverged) return done;
      done++;
      this.totals.steps++;
      if (Atomics.load(control, CONTROL.DIVERGED_AT) !== 0 || outcome.stop) break;
    }
    return done;
  }

  /** Every rank's m and v, gathered into the shared buffers' m and v (for a checkpoint). */
  gatherMoments(step: number): void {
    const { buffers: b } = this.setup;
    for (const [packed, full] of [
      [this.m, b.m],
      [this.v, b.v],
    ] as const) {
      this.ownParams.set(packed);
      this.wait(
        this.mpi.allgatherv(this.ownParams, this.gathered, this.gatherCounts, this.gatherDispls, b.control, this.setup.timeoutSeconds),
        step,
        "gathering Adam's moments for a checkpoint",
      );
      this.unpackAll(full);
      unpack(packed, this.mine, full);
    }
  }

  private step(t: number, rows: number): { loss: number; lossDiverged: boolean; gradientDiverged: boolean; stop: boolean } {
    const { buffers: b, plan } = this.setup;
    const { layout, myCount, kernels } = this;
    const R = this.info.ranks;
    const L = plan.localShards;
    const timeout = this.setup.timeoutSeconds;
    const t0 = performance.now();

    // 1. Shard losses and stop requests.
    for (let l = 0; l < L; l++) this.lossesOut[l] = b.shardLoss[plan.firstShard + l];
    this.lossesOut[L] = Atomics.load(b.control, CONTROL.STOP_REQUESTED);
    this.wait(this.mpi.allgather(this.lossesOut, this.lossesIn, b.control, timeout), t, "exchanging the step's losses");
    let stop = false;
    for (let r = 0; r < R; r++) {
      for (let l = 0; l < L; l++) b.shardLoss[r * L + l] = this.lossesIn[r * (L + 1) + l];
      stop ||= this.lossesIn[r * (L + 1) + L] !== 0;
    }
    const loss = stepLossOf(b.shardLoss, plan.shards);
    const t1 = performance.now();

    if (!Number.isFinite(loss)) {
      // Every rank saw the same losses: all stop here, before any update.
      this.totals.exchange += (t1 - t0) / 1000;
      return { loss, lossDiverged: true, gradientDiverged: false, stop };
    }

    // 2. The process's partial: its shards' tree sum, packed by owner (a rank's shards are one subtree).
    const size = b.params.length;
    for (let r = 0; r < R; r++) packTreeSum(b.slots, L, size, layout.owned[r], this.send.subarray(layout.displs[r], layout.displs[r] + layout.counts[r]));
    const t2 = performance.now();

    // 3. Partials to their owners.
    this.wait(
      this.mpi.alltoallv(this.send, this.sendCounts, this.sendDispls, this.partials, this.partialCounts, this.partialDispls, b.control, timeout),
      t,
      'exchanging gradients',
    );
    this.totals.bytesSent += (size - myCount) * 4;

    // 4. Clipping: the owned blocks' norms, to every rank, summed in block order as in one process.
    let gradScale = 1;
    if (plan.clipNorm > 0) {
      for (let i = 0; i < L; i++) {
        const { offset, lo, hi } = this.mine[i];
        this.sumSqOut[i] = kernels.gradientSumOfSquares(this.partials, R, myCount, offset, offset + hi - lo, 1 / rows);
      }
      this.wait(this.mpi.allgather(this.sumSqOut, this.sumSqIn, b.control, timeout), t, 'exchanging the gradient norm');
      gradScale = clipScale(this.sumSqIn, plan.shards, plan.clipNorm);
    }
    const t4 = performance.now();

    // 5. The fused reduce + Adam on the owned blocks, packed: the ranks' partials are its slots, summed in the
    //    same tree, so g is the same bits as one process summing every shard.
    const scalars = adamScalars({ t, lr: learningRateAt(plan.schedule, t), config: this.setup.optimizer, gradScale }, rows);
    const own = this.ownParams.subarray(0, myCount);
    pack(b.params, this.mine, own);
    const finite = kernels.reduceAdam(own, this.m, this.v, this.partials, R, 0, myCount, scalars);
    const t5 = performance.now();

    // 6. The parameters to every rank, with whether a block's gradient was not finite.
    this.ownParams[myCount] = finite ? 0 : 1;
    this.wait(this.mpi.allgatherv(this.ownParams, this.gathered, this.gatherCounts, this.gatherDispls, b.control, timeout), t, 'gathering the parameters');
    this.totals.bytesSent += (myCount + 1) * 4 * (R - 1);
    let gradientDiverged = false;
    for (let r = 0; r < R; r++) gradientDiverged ||= this.gathered[layout.displs[r] + r + layout.counts[r]] !== 0;
    this.unpackAll(b.params);
    unpack(own, this.mine, b.params);
    const t6 = performance.now();

    this.totals.localReduce += (t2 - t1) / 1000;
    // Clipping's norm pass and its allgather count as exchange: the update is the fused pass alone.
    this.totals.exchange += (t1 - t0 + t4 - t2 + t6 - t5) / 1000;
    this.totals.update += (t5 - t4) / 1000;
    return { loss, lossDiverged: false, gradientDiverged, stop };
  }

  /** Copies every other rank's part of `gathered` into `to`. */
  private unpackAll(to: Float32Array): void {
    const { layout } = this;
    for (let r = 0; r < this.info.ranks; r++) {
      if (r === this.info.rank) continue;
      const start = layout.displs[r] + r;
      unpack(this.gathered.subarray(start, start + layout.counts[r]), layout.owned[r], to);
    }
  }

  /** The process's workers' arrival with their gradients, within --comm-timeout. */
  private waitForWorkers(t: number): void {
    const { buffers: b, plan, timeoutSeconds } = this.setup;
    try {
      barrier(b.control, plan.workers + 1, undefined, timeoutSeconds > 0 ? performance.now() + timeoutSeconds * 1000 : Infinity);
    } catch (e) {
      if (e instanceof BarrierTimeoutError) {
        throw new CommError(this.info, t, `its own workers did not finish the step within --comm-timeout ${timeoutSeconds} s`);
      }
      throw e;
    }
  }

  private wait(result: WaitResult, t: number, what: string): void {
    if (result === 'done') return;
    if (result === 'aborted') throw new AbortedError();
    throw new CommError(this.info, t, `no answer from the other ranks within --comm-timeout ${this.setup.timeoutSeconds} s while ${what}`);
  }
}
