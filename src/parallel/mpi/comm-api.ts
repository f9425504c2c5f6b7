/**
 * What the communication thread (workers/comm-thread.ts) offers the main thread over
 * Comlink (session.ts drives it). Failures of collectives cross the thread boundary as
 * data: Comlink would turn a CommError into a plain Error.
 */
import type { CrossRankSetup, ExchangeTotals, RankInfo } from './cross-rank.js';

export type CommOutcome<T> = { ok: true; value: T } | { ok: false; aborted: true } | { ok: false; aborted: false; step: number; problem: string };

export interface CommThreadApi {
  /** MPI_Init_thread (MPI_THREAD_MULTIPLE asked); who this rank is. */
  init(): RankInfo & { threadLevel: string };
  /** Every rank's `mine` (a string of at most 16 KiB), in rank order; `what` names the exchange in a timeout's error. */
  allgatherText(mine: string, timeoutSeconds: number, step: number, what: string): CommOutcome<string[]>;
  /** Median seconds of an alltoallv of `bytes` between every pair of ranks, over `repeats`. */
  probe(bytes: number, repeats: number, timeoutSeconds: number): CommOutcome<number>;
  prepare(setup: CrossRankSetup): void;
  run(stepsBefore: number, stepBegin: number, stepEnd: number): CommOutcome<{ steps: number; totals: ExchangeTotals }>;
  gatherMoments(step: number): CommOutcome<null>;
  finalize(): void;
  abort(code: number): void;
}
