/**
 * Picks the tfjs backend: tensorflow (libtensorflow through the optional
 * @tensorflow/tfjs-node) → wasm → cpu. Works in the main thread and in worker threads;
 * each thread has its own tfjs, so each worker selects for itself.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { TFJS_BACKEND_CHOICES, type TfjsBackendChoice, type TfjsBackendName } from './engine.js';
import { tensorflowThreadsLimited } from './tensorflow-threads.js';

export type Tfjs = typeof tf;

export interface TfjsBackend {
  readonly tf: Tfjs;
  readonly backend: TfjsBackendName;
  /** Why a faster backend was passed over and how to get it; the caller prints it once per run. */
  readonly note?: string;
}

const TENSORFLOW_HINT =
  'For the faster tensorflow backend, run `npm rebuild @tensorflow/tfjs-node` on a machine with internet access ' +
  '(its install downloads libtensorflow), or use the native engine (--engine native).';

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].trim().replace(/\.$/, '');
}

// Each backend is loaded at most once per thread; a failed load stays failed.
let tensorflowLoad: Promise<void> | undefined;
let wasmLoad: Promise<void> | undefined;

function loadTensorflow(): Promise<void> {
  if (!isMainThread && !tensorflowThreadsLimited()) {
    return Promise.reject(new Error('this worker thread was started without one-thread limits (limitTensorflowThreads() was not called in the main thread)'));
  }
  // A variable specifier: the package is optional, so the build must not depend on its types.
  const specifier = '@tensorflow/tfjs-node';
  tensorflowLoad ??= import(specifier).then(() => undefined);
  return tensorflowLoad;
}

function loadWasm(): Promise<void> {
  wasmLoad ??= (async () => {
    const require = createRequire(import.meta.url);
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Point at the .wasm files that ship in the package, wherever this code was bundled to.
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    const binary = join(dir, 'tfjs-backend-wasm.wasm');
    if (!existsSync(binary)) throw new Error(`${binary} is missing`);
    wasm.setWasmPaths(dir + sep);
  })();
  return wasmLoad;
}

async function activate(name: TfjsBackendName): Promise<void> {
  if (name === 'tensorflow') await loadTensorflow();
  if (name === 'wasm') await loadWasm();
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** auto's order of preference. */
const ORDER = TFJS_BACKEND_CHOICES.filter((c): c is TfjsBackendName => c !== 'auto');

/**
 * Makes `choice` the active tfjs backend of this thread. An explicit choice that cannot
 * load is an EngineError; `auto` takes the first that loads and notes what it passed over.
 */
export async function selectTfjsBackend(choice: TfjsBackendChoice): Promise<TfjsBackend> {
  // Our note replaces tfjs's own console advice, which would print once per worker.
  tf.enableProdMode();
  if (choice !== 'auto') {
    try {
      await activate(choice);
    } catch (error) {
      throw new EngineError(
        `the tfjs ${choice} backend cannot be used: ${firstLine(error)}`,
        choice === 'tensorflow' ? TENSORFLOW_HINT : 'Use --backend auto to fall back to the next available backend.',
        { cause: error },
      );
    }
    return { tf, backend: choice };
  }
  const skipped: string[] = [];
  for (const name of ORDER) {
    try {
      await activate(name);
    } catch (error) {
      skipped.push(`${name} (${firstLine(error)})`);
      continue;
    }
    if (skipped.length === 0) return { tf, backend: name };
    return { tf, backend: name, note: `tfjs runs on the ${name} backend; skipped: ${skipped.join('; ')}. ${TENSORFLOW_HINT}` };
  }
  throw new EngineError(`no tfjs backend could be loaded: ${skipped.join('; ')}`, 'Reinstall the dependencies with `npm ci`.');
}
