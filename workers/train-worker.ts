/**
 * The Piscina worker. Each thread builds its engine once per training session and
 * then serves tasks: a run of training steps, a loss over rows, or predictions.
 */
import type { Engine } from '../src/engine/engine.js';
import { createEngine, nativeFallbackNote, updateKernelsFor } from '../src/engine/select.js';
import type { UpdateKernels } from '../src/optim/update-kernels.js';
import { AbortedError } from '../src/parallel/control.js';
import { runSteps } from '../src/parallel/step-loop.js';
import type { EngineInfo, EngineSetup, RunResult, WorkerTask } from '../src/parallel/tasks.js';

interface ThreadEngine {
  readonly sessionId: string;
  readonly engine: Engine;
  readonly kernels: UpdateKernels;
}

let current: ThreadEngine | undefined;

async function engineFor(setup: EngineSetup): Promise<ThreadEngine> {
  if (current?.sessionId !== setup.sessionId) {
    current?.engine.dispose();
    current = undefined;
    const engine = await createEngine(setup.engine, setup.spec, setup.maxRows, setup.tfjsBackend);
    current = { sessionId: setup.sessionId, engine, kernels: updateKernelsFor(engine.name) };
  }
  return current;
}

export default async function serve(task: WorkerTask): Promise<RunResult | EngineInfo | number | null> {
  const { engine, kernels } = await engineFor(task.setup);
  switch (task.kind) {
    case 'info':
      return {
        engine: engine.name,
        backend: engine.backend,
        note: [nativeFallbackNote(task.setup.engine), engine.note].filter(Boolean).join(' ') || undefined,
      };
    case 'run':
      try {
        return { rank: task.rank, steps: runSteps(engine, kernels, task) };
      } catch (err) {
        // Another thread failed first; the coordinator reports that one.
        if (err instanceof AbortedError) return { rank: task.rank, steps: 0 };
        throw err;
      }
    case 'loss': {
      const split = task.buffers[task.split];
      let sum = 0;
      for (let lo = task.begin; lo < task.end; lo += engine.maxRows) {
        sum += engine.lossSum(task.buffers.params, split, task.buffers.identity.subarray(lo, Math.min(lo + engine.maxRows, task.end)));
      }
      return sum;
    }
    case 'predict': {
      const split = task.buffers[task.split];
      const units = task.out.length / (task.end - task.begin);
      for (let lo = task.begin; lo < task.end; lo += engine.maxRows) {
        const hi = Math.min(lo + engine.maxRows, task.end);
        const out = task.out.subarray((lo - task.begin) * units, (hi - task.begin) * units);
        engine.predict(task.buffers.params, split, task.buffers.identity.subarray(lo, hi), out, task.layer);
      }
      return null;
    }
  }
}
