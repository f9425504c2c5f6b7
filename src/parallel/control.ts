/**
 * The control block: a small Int32Array on a SharedArrayBuffer through which the
 * workers synchronise every step and the coordinator watches and steers them.
 * Nothing else crosses threads per step.
 */
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
  /** Step (1-based) at which a loss or gradient became non-finite; 0 while all is well. */
  DIVERGED_AT: 6,
  /** 1 if the divergence was seen in the gradient, 0 if in the loss. */
  DIVERGED_IN_GRADIENT: 7,
} as const;

export const CONTROL_INTS = 8;

/** Thrown inside a worker when another thread aborted the run; not a fault of its own. */
export class AbortedError extends Error {
  constructor() {
    super('run aborted by another thread');
    this.name = 'AbortedError';
  }
}

/** Spins this many polls before sleeping: a peer on another core usually arrives within microseconds. */
const SPIN_POLLS = 2000;
/** Sleeps are bounded so that an abort is noticed even if no one notifies. */
const WAIT_SLICE_MS = 50;

/**
 * A reusable barrier for `parties` threads. The last thread to arrive runs `onLast`
 * before releasing the others, so that a decision it takes there (stop, progress) is
 * seen by every thread after the barrier.
 */
export function barrier(control: Int32Array, parties: number, onLast?: () => void): void {
  const generation = Atomics.load(control, CONTROL.BARRIER_GEN);
  if (Atomics.add(control, CONTROL.BARRIER_COUNT, 1) + 1 === parties) {
    Atomics.store(control, CONTROL.BARRIER_COUNT, 0);
    onLast?.();
    Atomics.add(control, CONTROL.BARRIER_GEN, 1);
    Atomics.notify(control, CONTROL.BARRIER_GEN);
    return;
  }
  for (let i = 0; i < SPIN_POLLS; i++) {
    if (Atomics.load(control, CONTROL.BARRIER_GEN) !== generation) return;
  }
  while (Atomics.load(control, CONTROL.BARRIER_GEN) === generation) {
    if (Atomics.load(control, CONTROL.ABORT) !== 0) throw new AbortedError();
    Atomics.wait(control, CONTROL.BARRIER_GEN, generation, WAIT_SLICE_MS);
  }
}

/** Aborts the run: every thread waiting in a barrier wakes and throws AbortedError. */
export function abortRun(control: Int32Array): void {
  Atomics.store(control, CONTROL.ABORT, 1);
  Atomics.notify(control, CONTROL.BARRIER_GEN);
}
