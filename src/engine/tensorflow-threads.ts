/**
 * libtensorflow's thread limits, apart from the tfjs backend module so that setting them
 * does not load tfjs: a run on the native engine never needs it.
 */

/**
 * libtensorflow reads these when it creates its thread pools. One intra-op thread per
 * worker, and a pool per worker instead of one shared pool, keep the parallelism across
 * workers (ARCHITECTURE.md, "Data flow of one step").
 */
const TENSORFLOW_THREAD_LIMITS: Readonly<Record<string, string>> = {
  TF_NUM_INTRAOP_THREADS: '1',
  TF_NUM_INTEROP_THREADS: '1',
  TF_OVERRIDE_GLOBAL_THREADPOOL: '1',
};

/**
 * Limits the tensorflow backend to one thread per worker. Call it in the main thread
 * before starting workers: only the main thread's process.env reaches the real
 * environment that libtensorflow reads (a worker's process.env is a private copy).
 */
export function limitTensorflowThreads(): void {
  Object.assign(process.env, TENSORFLOW_THREAD_LIMITS);
}

/** Whether this thread's environment carries the limits. */
export function tensorflowThreadsLimited(): boolean {
  return Object.entries(TENSORFLOW_THREAD_LIMITS).every(([name, value]) => process.env[name] === value);
}
