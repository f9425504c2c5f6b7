/**
 * Fault injection, for tests only: one worker fails at one step, so that tests can
 * prove how a run fails (a clear error, no hang, the last checkpoint intact). The CLI
 * takes it from the COREFIT_TEST_FAULT environment variable, not from a flag, so that
 * it stays out of --help and out of users' way.
 */
import { UsageError } from '../errors.js';
import type { InjectedFault, RunTask } from './tasks.js';

const KINDS: readonly InjectedFault['kind'][] = ['throw', 'exit', 'oom', 'nan'];

/** Enacts the task's fault when it is this worker's and step `t` (global, 1-based) is its step. */
export function injectFault(task: RunTask, t: number): void {
  const fault = task.fault;
  if (fault === undefined || fault.rank !== task.rank || fault.step !== t) return;
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
    case 'throw':
      throw new Error(`injected fault at step ${t}`);
  }
}

/** The fault `COREFIT_TEST_FAULT=rank:step:kind` asks for (e.g. `1:20:oom`), or undefined when it is not set. */
export function faultFromEnvironment(env: NodeJS.ProcessEnv): InjectedFault | undefined {
  const text = env.COREFIT_TEST_FAULT;
  if (text === undefined || text === '') return undefined;
  const [rank, step, kind, ...rest] = text.split(':');
  const isCount = (s: string | undefined, min: number): boolean => s !== undefined && /^\d+$/.test(s) && Number(s) >= min;
  if (!isCount(rank, 0) || !isCount(step, 1) || !KINDS.includes(kind as InjectedFault['kind']) || rest.length > 0) {
    throw new UsageError(
      `COREFIT_TEST_FAULT="${text}" is not rank:step:kind with kind one of ${KINDS.join(', ')}`,
      'COREFIT_TEST_FAULT is for corefit\'s own tests; unset it for real runs.',
    );
  }
  return { rank: Number(rank), step: Number(step), kind: kind as InjectedFault['kind'] };
}
