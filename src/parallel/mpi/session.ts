/**
 * The main thread's handle on MPI: it starts the process's communication thread
 * (workers/comm-thread.ts), which initializes MPI and makes every MPI call, and drives
 * it through Comlink. One per process: MPI is initialized once and finalized once.
 */
import * as Comlink from 'comlink';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CommError, UsageError } from '../../errors.js';
import { COMM_THREAD } from '../../paths.js';
import type { CommOutcome, CommThreadApi } from './comm-api.js';
import { AbortedError } from '../control.js';
import type { CrossRankSetup, ExchangeTotals, RankInfo } from './cross-rank.js';
import { requireMpiTransport } from './addon.js';

/** What must be the same on every rank, by name: refused at start-up when it is not. */
export type Fingerprint = Readonly<Record<string, string>>;

/** The least wait for the other ranks at start-up, whatever --comm-timeout says: a step's time is no measure of a start-up's. */
const START_UP_SECONDS = 120;

export class MpiSession implements RankInfo {
  private closed = false;
  private ready = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly remote: Comlink.Remote<CommThreadApi>,
    readonly rank: number,
    readonly ranks: number,
    readonly host: string,
    /** --comm-timeout in seconds; 0: wait for ever. */
    readonly timeoutSeconds: number,
  ) {}

  /** Starts the communication thread and MPI; a UsageError says how to get MPI where corefit has none. */
  static async open(timeoutSeconds: number): Promise<MpiSession> {
    requireMpiTransport();
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(COMM_THREAD, { workerData: { port: port2 }, transferList: [port2] });
    const remote = Comlink.wrap<CommThreadApi>(port1 as unknown as Comlink.Endpoint);
    const info = await remote.init();
    return new MpiSession(worker, port1, remote, info.rank, info.ranks, info.host, timeoutSeconds);
  }

  /** Refuses to start, on every rank, when a rank's fingerprint differs from rank 0's, naming what differs. */
  async checkSameRun(mine: Fingerprint): Promise<void> {
    // Ranks reach this after reading the data and starting their workers, which takes each its own time.
    const startUp = this.timeoutSeconds === 0 ? 0 : Math.max(this.timeoutSeconds, START_UP_SECONDS);
    const all = (await this.settle(this.remote.allgatherText(JSON.stringify(mine), startUp, 0, 'comparing how the ranks were started at start-up'))).map(
      (f) => JSON.parse(f) as Fingerprint,
    );
    const differences: string[] = [];
    for (let r = 1; r < all.length; r++) {
      for (const key of Object.keys({ ...all[0], ...all[r] })) {
        if (all[0][key] !== all[r][key]) differences.push(`rank ${r}'s ${key} is ${all[r][key] ?? 'missing'}, rank 0's ${all[0][key] ?? 'missing'}`);
      }
    }
    if (differences.length > 0) {
      throw new UsageError(
        `the ranks of this job were not started alike: ${differences.join('; ')}`,
        'Start every rank with the same corefit version, data, model and options (the same mpirun command line, the same files on every host).',
      );
    }
  }

  /** Median seconds of an alltoallv of `bytes` between every pair of ranks (every rank must call it). */
  async probe(bytes: number, repeats: number): Promise<number> {
    return this.settle(this.remote.probe(bytes, repeats, this.timeoutSeconds));
  }

  /** Returns once every rank has called it; `step` and `what` name it in a timeout's error. */
  async barrier(step = 0, what = 'waiting for every rank'): Promise<void> {
    await this.allgather('', step, what);
  }

  /** Every rank's `mine` (JSON of at most 16 KiB), in rank order: a small gather, not for every step. Every rank must call it. */
  async allgather<T>(mine: T, step: number, what: string): Promise<T[]> {
    const all = await this.settle(this.remote.allgatherText(JSON.stringify(mine), this.timeoutSeconds, step, what));
    return all.map((text) => JSON.parse(text) as T);
  }

  /** Whether prepare() was called: the ranks agreed on the run and train from here on. */
  get prepared(): boolean {
    return this.ready;
  }

  async prepare(setup: CrossRankSetup): Promise<void> {
    await this.remote.prepare(setup);
    this.ready = true;
  }

  /** The communication thread's side of steps [stepBegin, stepEnd); run beside the pool's. */
  async run(stepsBefore: number, stepBegin: number, stepEnd: number): Promise<{ steps: number; totals: ExchangeTotals }> {
    return this.settle(this.remote.run(stepsBefore, stepBegin, stepEnd));
  }

  /** Every rank's Adam moments into the shared m and v (before rank 0 writes a checkpoint). */
  async gatherMoments(step: number): Promise<void> {
    await this.settle(this.remote.gatherMoments(step));
  }

  /** The normal end: MPI_Finalize, then the thread ends. */
  async finalize(): Promise<void> {
    if (this.closed) return;
    await this.remote.finalize();
    await this.leave();
  }

  /**
   * The end while mpirun tears the job down (Ctrl-C): the thread ends without MPI_Finalize,
   * whose closing exchange with mpirun would wait until mpirun kills the rank (mpirun serves
   * no rank while it waits between its signals). A live thread would keep the process from exiting.
   */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    await this.worker.terminate();
  }

  /** Ends every rank of the job with `code` (MPI_Abort): after an error, which was already reported. */
  async abortJob(code: number): Promise<never> {
    this.closed = true;
    await this.remote.abort(code);
    throw new Error('MPI_Abort returned');
  }

  private async settle<T>(call: Promise<CommOutcome<T>>): Promise<T> {
    const result = await call;
    if (result.ok) return result.value;
    if (result.aborted) throw new AbortedError();
    throw new CommError(this, result.step, result.problem);
  }
}
