/**
 * The communication thread of an MPI rank: one long-lived worker_thread that makes every
 * MPI call of its process, so that no collective ever blocks the event loop. The main
 * thread drives it through Comlink (parallel/mpi/session.ts); per step it works in step
 * with the process's workers through the shared control block, and gradients and
 * parameters stay on their SharedArrayBuffers.
 */
import * as Comlink from 'comlink';
import { workerData, type MessagePort } from 'node:worker_threads';
import { CommError } from '../src/errors.js';
import { median } from '../src/median.js';
import { AbortedError } from '../src/parallel/control.js';
import { loadMpi, type MpiAddon } from '../src/parallel/mpi/addon.js';
import type { CommOutcome, CommThreadApi } from '../src/parallel/mpi/comm-api.js';
import { CrossRank, type RankInfo } from '../src/parallel/mpi/cross-rank.js';

let mpi: MpiAddon | undefined;
let info: RankInfo | undefined;
let crossRank: CrossRank | undefined;

function outcome<T>(body: () => T): CommOutcome<T> {
  try {
    return { ok: true, value: body() };
  } catch (e) {
    if (e instanceof AbortedError) return { ok: false, aborted: true };
    if (e instanceof CommError) return { ok: false, aborted: false, step: e.step, problem: e.problem };
    throw e;
  }
}

/** Bytes of each rank's text in allgatherText (padded). */
const TEXT_BYTES = 16384;

const api: CommThreadApi = {
  init() {
    mpi = loadMpi();
    const i = mpi.init();
    info = { rank: i.rank, ranks: i.size, host: i.host };
    return { ...info, threadLevel: i.threadLevel };
  },

  allgatherText(mine, timeoutSeconds, step, what) {
    return outcome(() => {
      const bytes = new TextEncoder().encode(mine);
      if (bytes.length > TEXT_BYTES) throw new Error(`${what}: ${bytes.length} bytes are over ${TEXT_BYTES}`);
      const send = new Uint8Array(TEXT_BYTES);
      send.set(bytes);
      const recv = new Uint8Array(TEXT_BYTES * info!.ranks);
      const never = new Int32Array(new SharedArrayBuffer(4));
      const result = mpi!.allgather(send, recv, never, timeoutSeconds);
      if (result !== 'done') throw new CommError(info!, step, `no answer from the other ranks within ${timeoutSeconds} s while ${what}`);
      return Array.from({ length: info!.ranks }, (_, r) => {
        const part = recv.subarray(r * TEXT_BYTES, (r + 1) * TEXT_BYTES);
        const end = part.indexOf(0);
        return new TextDecoder().decode(end < 0 ? part : part.subarray(0, end));
      });
    });
  },

  // The pattern of the gradient exchange, after one warm-up: the bench fits latency and bandwidth to two sizes.
  probe(bytes, repeats, timeoutSeconds) {
    return outcome(() => {
      const R = info!.ranks;
      const send = new Uint8Array(bytes * R);
      const recv = new Uint8Array(bytes * R);
      const counts = new Int32Array(R).fill(bytes);
      const displs = Int32Array.from({ length: R }, (_, r) => r * bytes);
      const never = new Int32Array(new SharedArrayBuffer(4));
      const seconds: number[] = [];
      for (let i = 0; i <= repeats; i++) {
        const started = performance.now();
        if (mpi!.alltoallv(send, counts, displs, recv, counts, displs, never, timeoutSeconds) !== 'done') {
          throw new CommError(info!, 0, `no answer from the other ranks within --comm-timeout ${timeoutSeconds} s while measuring the exchange`);
        }
        if (i > 0) seconds.push((performance.now() - started) / 1000);
      }
      return median(seconds);
    });
  },

  prepare(setup) {
    crossRank = new CrossRank(mpi!, info!, setup);
  },

  run(stepsBefore, stepBegin, stepEnd) {
    return outcome(() => ({ steps: crossRank!.run(stepsBefore, stepBegin, stepEnd), totals: { ...crossRank!.totals } }));
  },

  gatherMoments(step) {
    return outcome(() => {
      crossRank!.gatherMoments(step);
      return null;
    });
  },

  finalize() {
    mpi?.finalize();
  },

  abort(code) {
    mpi!.abort(code);
  },
};

Comlink.expose(api, (workerData as { port: MessagePort }).port as unknown as Comlink.Endpoint);
