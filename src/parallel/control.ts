/**
 * The control block: a small Int32Array on a SharedArrayBuffer through which the
 * workers synchronise every step and the coordinator watches and steers them.
 * Nothing else crosses threads per step.
 */
import { availableParallelism } from 'node:os';

export const CONTROL = {
  /** Non-zero once the coordinator (or a failing worker) aborts the run. */
  ABORT: 0,
  /** Barrier arrivals in the current generation. */
  BARRIER_COUNT: 1,
  /** Barrier generation; bumped (and notified) when the last worker arrives. */
  BARRIER_GEN: 2,
  /** Set by the coordinator: stop after the step in progress (SIGINT, SIGTERM). */
  STOP_REQUESTED: 3,
  /** Set by the last worker of a step when STOP_REQUESTED was seen: all workers stop together. */
  STOPPING: 4,
  /** Steps completed in the current run (progress); notified after every step. */
  STEPS_DONE: 5,
  /** Step (1-based) at which the loss, the gradient or a weight became non-finite; 0 while all is well. */
  DIVERGED_AT: 6,
  /** What became non-finite: an index into DIVERGED_WHAT. */
  DIVERGED_IN: 7,
} as const;

export const CONTROL_INTS = 8;

/** Thrown inside a worker when another thread aborted the run; not a fault of its own. */
export class AbortedError extends Error {
  constructor() {
    super('run aborted by another thread');
    this.name = 'AbortedError';
  }
}

/**
 * How long a thread polls before it sleeps. A peer on another core usually arrives within
 * tens of microseconds, and a thread woken from Atomics.wait runs again only ~25 µs after
 * the notify. Side by side on 2 cores, 2 workers, global batch 100, the two barriers of a
 * step waited (per-step medians) and 2 workers ran this much faster than 1:
 *   sleep at once              41 + 31 µs   1.56×
 *   poll 2,000 times (~20 µs)  14 +  8 µs   1.62×
 *   poll 50 or 200 µs           3 +  4 µs   1.76×, 1.77×
 *   poll 1 ms                   3 +  5 µs   1.73×
 */
const SPIN_MS = 0.2;
/**
 * Polling pays only while every party has a core of its own; otherwise it holds a core
 * that a peer yet to arrive needs. With 4 workers on 2 cores, polling 200 µs took
 * training from ~71,000 to ~45,000 samples/s, so oversubscribed barriers sleep at once.
 */
const CORES = availableParallelism();

/** One worker per core: parallelism is across workers, each single-threaded. */
export function defaultWorkerCount(): number {
  return CORES;
}
/** Sleeps are bounded so that an abort is noticed even if no one notifies. */
const WAIT_SLICE_MS = 50;

/** Thrown by a barrier whose caller gave it a deadline that passed. */
export class BarrierTimeoutError extends Error {
  constructor() {
    super('the other threads did not arrive at the barrier in time');
    this.name = 'BarrierTimeoutError';
  }
}

/**
 * A reusable barrier for `parties` threads. The last thread to arrive runs `onLast`
 * before releasing the others, so that a decision it takes there (stop, progress) is
 * seen by every thread after the barrier. A thread that must not wait forever (the
 * communication thread, for --comm-timeout) gives a deadline (performance.now() time).
 */
export function barrier(control: Int32Array, parties: number, onLast?: () => void, deadline = Infinity): void {
  const generation = Atomics.load(control, CONTROL.BARRIER_GEN);
  if (Atomics.add(control, CONTROL.BARRIER_COUNT, 1) + 1 === parties) {
    Atomics.store(control, CONTROL.BARRIER_COUNT, 0);
    onLast?.();
    Atomics.add(control, CONTROL.BARRIER_GEN, 1);
    Atomics.notify(control, CONTROL.BARRIER_GEN);
    return;
  }
  const spinUntil = performance.now() + (parties <= CORES ? SPIN_MS : 0);
  while (performance.now() < spinUntil) {
    if (Atomics.load(control, CONTROL.BARRIER_GEN) !== generation) return;
  }
  while (Atomics.load(control, CONTROL.BARRIER_GEN) === generation) {
    if (Atomics.load(control, CONTROL.ABORT) !== 0) throw new AbortedError();
    if (performance.now() > deadline) throw new BarrierTimeoutError();
    Atomics.wait(control, CONTROL.BARRIER_GEN, generation, WAIT_SLICE_MS);
  }
}

/** Aborts the run: every thread waiting in a barrier wakes and throws AbortedError. */
export function abortRun(control: Int32Array): void {
  Atomics.store(control, CONTROL.ABORT, 1);
  Atomics.notify(control, CONTROL.BARRIER_GEN);
}
