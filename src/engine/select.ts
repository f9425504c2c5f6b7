/** `--engine auto|native|tfjs`: native where the addon was built, tfjs otherwise. */
import { EngineError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';
import { TYPESCRIPT_KERNELS, type UpdateKernels } from '../optim/update-kernels.js';
import type { Engine, EngineChoice, EngineName, TfjsBackendChoice } from './engine.js';
import { createNativeEngine, nativeStatus, nativeUpdateKernels } from './native.js';
import { limitTensorflowThreads } from './tensorflow-threads.js';

export async function createEngine(choice: EngineChoice, spec: ModelSpec, maxRows: number, tfjsBackend: TfjsBackendChoice = 'auto'): Promise<Engine> {
  const status = nativeStatus();
  if (choice === 'native' || (choice === 'auto' && status.available)) {
    if (!status.available) throw new EngineError(`the native engine is not available: ${status.reason}`, status.hint);
    return createNativeEngine(spec, maxRows);
  }
  // Loaded only here: tfjs takes about a second of CPU to load, in every worker thread.
  const { createTfjsEngine } = await import('./tfjs.js');
  return createTfjsEngine(spec, maxRows, tfjsBackend);
}

/** Why auto falls back to tfjs, said once per run; undefined when native is used. */
export function nativeFallbackNote(choice: EngineChoice): string | undefined {
  const status = nativeStatus();
  if (choice !== 'auto' || status.available) return undefined;
  return `native engine unavailable (${status.reason}); using tfjs. ${status.hint}`;
}

/**
 * What the engines need from the process before worker threads start (a worker's
 * process.env is a private copy): call it in the main thread, before the pool.
 */
export function prepareEngineThreads(): void {
  limitTensorflowThreads();
}

/**
 * The update kernels that go with an engine: the addon's beside the native engine, the
 * TypeScript reference beside tfjs (which must run where the addon was not built).
 */
export function updateKernelsFor(engine: EngineName): UpdateKernels {
  return engine === 'native' ? nativeUpdateKernels() : TYPESCRIPT_KERNELS;
}
