/**
 * Fault injection, for tests only: one worker fails at one step, or the process is
 * killed at a chosen moment, so that tests can prove how a run fails (a clear error, no
 * hang, the last checkpoint intact) and that a kill -9 at any moment loses nothing. The CLI
 * takes it from the COREFIT_TEST_FAULT environment variable, not from a flag, so that
 * it stays out of --help and out of users' way.
 */
import { UsageError } from '../errors.js';
import type { InjectedFault, RunTask } from './tasks.js';

const WORKER_KINDS = ['throw', 'exit', 'oom', 'nan', 'kill', 'hang'] as const;

/** Enacts the task's fault when it is this worker's and step `t` (global, 1-based) is its step. */
export function injectFault(task: RunTask, t: number): void {
  const fault = task.fault;
  if (fault === undefined || fault.kind === 'kill-in-write' || fault.rank !== task.rank || fault.step !== t) return;
  switch (fault.kind) {
    case 'exit':
      return process.exit(3);
    case 'oom': {
      // Live arrays until V8 reaches the thread's heap limit (WORKER_HEAP_MB) and ends the thread.
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1 << 20).fill(t));
    }
    case 'nan':
      // A weight an overflowing update could leave: every row's loss in this step is NaN.
      task.buffers.params[task.buffers.params.length - 1] = NaN;
      return;
    case 'hang':
      // Blocks this thread for good: nothing ever notifies this fresh word.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return;
    case 'kill':
      // kill -9 of the whole process, mid-step: what a crash or power loss does.
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'throw':
      throw new Error(`injected fault at step ${t}`);
  }
}

/** The hook that kills the process within the write of the checkpoint at `step`, or undefined when no fault asks for it. */
export function crashInWrite(fault: InjectedFault | undefined, step: number): ((operationsDone: number) => void) | undefined {
  if (fault?.kind !== 'kill-in-write' || fault.step !== step) return undefined;
  return (done) => {
    if (done === fault.operations) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * The fault `COREFIT_TEST_FAULT` asks for, or undefined when it is not set: `rank:step:kind`
 * (e.g. `1:20:oom`), or `write:step:operations` (e.g. `write:14:5`: kill -9 after 5 file
 * operations of the checkpoint written at step 14).
 */
export function faultFromEnvironment(env: NodeJS.ProcessEnv): InjectedFault | undefined {
  const text = env.COREFIT_TEST_FAULT;
  if (text === undefined || text === '') return undefined;
  const [first, step, last, ...rest] = text.split(':');
  const isCount = (s: string | undefined, min: number): boolean => s !== undefined && /^\d+$/.test(s) && Number(s) >= min;
  if (first === 'write' && isCount(step, 0) && isCount(last, 0) && rest.length === 0) {
    return { kind: 'kill-in-write', step: Number(step), operations: Number(last) };
  }
  const kind = WORKER_KINDS.find((k) => k === last);
  if (!isCount(first, 0) || !isCount(step, 1) || kind === undefined || rest.length > 0) {
    throw new UsageError(
      `COREFIT_TEST_FAULT="${text}" is not rank:step:kind with kind one of ${WORKER_KINDS.join(', ')}, nor write:step:operations`,
      "COREFIT_TEST_FAULT is for corefit's own tests; unset it for real runs.",
    );
  }
  return { rank: Number(first), step: Number(step), kind };
}
