/**
 * Checkpoint directories: model.json + weights.bin, a tfjs LayersModel that
 * tf.loadLayersModel opens, and state.msgpack, what `--resume` needs besides.
 *
 * Crash safety. Three files cannot be replaced at once, so a write has two phases:
 *  1. the new files are written and flushed under pending names (NAME.tmp);
 *  2. they are renamed over the old ones: weights.bin, model.json, state.msgpack, each
 *     rename flushed before the next.
 * The state file records the SHA-256 of the other two. Until the first rename the old
 * set is intact; from then on the new set is complete on disk, partly under pending
 * names, and its state file says which. So a reader takes the final files when they
 * agree and the pending set otherwise, and a writer first finishes (or discards) what a
 * crash left, so that it never overwrites the only loadable copy. One writer per directory:
 * a reader changes nothing, unless it is that writer and asks to settle the directory.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import { paramLayout } from '../model/layout.js';
import { parseSpec, validateSpec, type ModelSpec } from '../model/spec.js';
import { renameDurably, syncDirectory, writeFileDurably } from './durable-files.js';
import { manifestProblem, modelJson, WEIGHTS_FILE } from './model-json.js';
import { makeDirectory } from '../output-dir.js';
import { errnoCode, writeProblem } from '../io-problem.js';
import { decodeState, encodeState, float32From, sha256, type TrainingState } from './state.js';

export { assertSameArchitecture } from './architecture.js';
export type { TrainingState } from './state.js';
export type { EpochRecord, RunConfig, RunProgress, RunState } from './run-state.js';

export interface Checkpoint {
  readonly spec: ModelSpec;
  /** The flat parameters: exactly the bytes of weights.bin. */
  readonly params: Float32Array;
  readonly state: TrainingState;
}

const MODEL_FILE = 'model.json';
const STATE_FILE = 'state.msgpack';
/** The order of the renames in phase 2: the state file, which commits, comes last. */
const FILES = [WEIGHTS_FILE, MODEL_FILE, STATE_FILE] as const;
type FileName = (typeof FILES)[number];

const pending = (name: FileName): string => `${name}.tmp`;

const HINTS = {
  missing: 'A checkpoint directory holds model.json, weights.bin and state.msgpack, as `corefit train --out DIR` writes them.',
  model: 'model.json must describe a Sequential of Dense layers, as corefit writes it; restore the directory from a copy.',
  state: 'state.msgpack is damaged or was not written by corefit; restore the directory from a copy, or start a new run without --resume.',
  changed: 'The file changed after corefit wrote it, or the write was cut short; restore the directory from a copy or write the checkpoint again.',
};

/** What is wrong with one set of files; readCheckpoint adds the directory. */
class Problem extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

async function isPresent(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** The file names a loaded set came from, for the writer to finish a pending set. */
type Sources = Record<FileName, string>;

interface Loaded {
  readonly checkpoint: Checkpoint;
  readonly sources: Sources;
}

/**
 * The first of `names` (a file, or its pending and final versions) whose content
 * `parse` accepts and whose SHA-256 is the one recorded in the state; otherwise the
 * problem of the first that is present.
 */
async function pick<T>(dir: string, names: readonly string[], seal: string, parse: (name: string, bytes: Buffer) => T): Promise<{ name: string; value: T }> {
  let problem: Problem | undefined;
  for (const name of names) {
    const bytes = await readIfPresent(join(dir, name));
    if (bytes === undefined) continue;
    try {
      const value = parse(name, bytes);
      if (sha256(bytes) === seal) return { name, value };
      throw new Problem(`${name} does not match the SHA-256 recorded in the training state`, HINTS.changed);
    } catch (error) {
      if (!(error instanceof Problem)) throw error;
      problem ??= error;
    }
  }
  throw problem ?? new Problem(`${names.join(' or ')} is missing`, HINTS.missing);
}

function parseModel(name: string, bytes: Buffer): ModelSpec {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const spec = parseSpec(json, name);
    const wrong = manifestProblem(json, spec);
    if (wrong !== undefined) throw new Error(wrong);
    return spec;
  } catch (error) {
    throw new Problem(`${name} does not describe a corefit model: ${(error as Error).message}`, HINTS.model);
  }
}

function weightsParser(spec: ModelSpec): (name: string, bytes: Buffer) => Float32Array {
  const size = paramLayout(spec).size;
  return (name, bytes) => {
    if (bytes.byteLength !== size * 4) {
      throw new Problem(
        `${name} holds ${bytes.byteLength} bytes, but the model in model.json has ${size} float32 parameters (${size * 4} bytes)`,
        'weights.bin was cut short or belongs to another model; restore the directory from a copy or write the checkpoint again.',
      );
    }
    return float32From(bytes);
  };
}

/** Loads the set whose state file is `stateName`, taking model and weights from the first matching candidates. */
async function loadSet(dir: string, stateName: string, candidates: { model: readonly string[]; weights: readonly string[] }): Promise<Loaded> {
  const stateBytes = await readIfPresent(join(dir, stateName));
  if (stateBytes === undefined) throw new Problem(`${stateName} is missing`, HINTS.missing);
  let decoded: ReturnType<typeof decodeState>;
  try {
    decoded = decodeState(stateBytes);
  } catch (error) {
    throw new Problem(`${stateName} is not a valid training state: ${(error as Error).message}`, HINTS.state);
  }
  const { state, seal } = decoded;
  const model = await pick(dir, candidates.model, seal.modelSha256, parseModel);
  const weights = await pick(dir, candidates.weights, seal.weightsSha256, weightsParser(model.value));
  const size = weights.value.length;
  if (state.m.length !== size || state.v.length !== size) {
    throw new Problem(`${stateName} holds Adam moments of ${state.m.length} and ${state.v.length} floats, the model has ${size} parameters`, HINTS.state);
  }
  return {
    checkpoint: { spec: model.value, params: weights.value, state },
    sources: { [WEIGHTS_FILE]: weights.name, [MODEL_FILE]: model.name, [STATE_FILE]: stateName },
  };
}

/** The final files, each checked against the others. */
async function loadFinal(dir: string): Promise<Loaded> {
  const missing: string[] = [];
  for (const name of FILES) if (!(await isPresent(join(dir, name)))) missing.push(name);
  if (missing.length > 0) throw new Problem(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing`, HINTS.missing);
  return loadSet(dir, STATE_FILE, { model: [MODEL_FILE], weights: [WEIGHTS_FILE] });
}

/** The set a write interrupted in phase 2 left: its state file still pending, the others pending or renamed. */
function loadPending(dir: string): Promise<Loaded> {
  return loadSet(dir, pending(STATE_FILE), {
    model: [pending(MODEL_FILE), MODEL_FILE],
    weights: [pending(WEIGHTS_FILE), WEIGHTS_FILE],
  });
}

/**
 * The set a reader takes: the final files when they agree, otherwise the set a write
 * interrupted in phase 2 left. A pending set beside final files that agree is one whose
 * write never reached its first rename: it was never committed, so it is ignored.
 */
async function choose(dir: string): Promise<Loaded> {
  try {
    return await loadFinal(dir);
  } catch (finalError) {
    const interrupted = await loadPending(dir).catch(() => undefined);
    if (interrupted === undefined) throw finalError;
    return interrupted;
  }
}

/**
 * The checkpoint files `dir` holds, final or pending, as a phrase such as
 * "model.json, weights.bin, state.msgpack (model mnist-autoencoder, 1 epoch, step 20)";
 * undefined when it holds none.
 */
export async function checkpointIn(dir: string): Promise<string | undefined> {
  const names = FILES.flatMap((name) => [name, pending(name)]);
  const present = (await Promise.all(names.map(async (name) => ((await isPresent(join(dir, name))) ? name : undefined)))).filter((n) => n !== undefined);
  if (present.length === 0) return undefined;
  const loaded = await choose(dir).catch(() => undefined);
  const progress = loaded?.checkpoint.state.run.progress;
  const what =
    loaded === undefined || progress === undefined
      ? 'not loadable'
      : `model ${loaded.checkpoint.spec.name}, ${progress.epoch} epoch${progress.epoch === 1 ? '' : 's'}, step ${progress.step}`;
  return `${present.join(', ')} (${what})`;
}

export interface ReadOptions {
  /**
   * Also leave the directory holding only the set read, under the final names: for the
   * directory's one writer, such as a run resuming into its own --out. Never while another
   * process may be writing there: that write's pending files would be pulled from under it.
   */
  readonly settle?: boolean;
}

/** Reads and verifies a checkpoint directory; a CheckpointError says what is wrong. */
export async function readCheckpoint(dir: string, opts: ReadOptions = {}): Promise<Checkpoint> {
  const found = await stat(dir).catch(() => undefined);
  if (!found?.isDirectory()) {
    throw new CheckpointError(
      `checkpoint ${dir}: ${found === undefined ? 'no such directory' : 'is a file, not a directory'}`,
      'Give the directory that `corefit train --out DIR` wrote.',
    );
  }
  let chosen: Loaded;
  try {
    chosen = await choose(dir);
  } catch (error) {
    if (error instanceof Problem) throw new CheckpointError(`checkpoint ${dir}: ${error.message}`, error.hint);
    throw new CheckpointError(`checkpoint ${dir}: ${(error as Error).message}`, 'Check that the directory is readable.', { cause: error });
  }
  if (opts.settle === true) {
    try {
      await settle(dir, chosen);
    } catch (error) {
      throw writeFailure(dir, error);
    }
  }
  return chosen.checkpoint;
}

/**
 * Puts the pending files of `kept` (what `choose` took, if anything) in place, in the
 * order of phase 2, and removes every other pending file: those the reader ignores.
 */
async function settle(dir: string, kept: Loaded | undefined): Promise<void> {
  for (const name of FILES) {
    const source = kept?.sources[name];
    if (source === pending(name)) await renameDurably(dir, join(dir, source), join(dir, name));
    else await rm(join(dir, pending(name)), { force: true });
  }
}

/** I/O errors (disk full, permissions) are the user's to fix; anything else is a bug and goes up as it is. */
function writeFailure(dir: string, error: unknown): unknown {
  if (errnoCode(error) === undefined) return error;
  return new CheckpointError(
    `cannot write checkpoint ${dir}: ${writeProblem(error)}`,
    'Free space or fix the permissions of that folder; the checkpoint written there before, if any, is intact.',
    { cause: error },
  );
}

export interface WriteOptions {
  /**
   * For crash tests only: called after each of the write's 7 file operations (3 writes,
   * the directory's flush, 3 renames) with the count done so far.
   */
  readonly afterOperation?: (operationsDone: number) => void;
}

/** Writes `checkpoint` into `dir` (created if needed) so that a crash at any moment leaves a loadable checkpoint. */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint, opts: WriteOptions = {}): Promise<void> {
  const { spec, params, state } = checkpoint;
  const size = paramLayout(validateSpec(spec)).size;
  for (const [name, array] of [
    ['params', params],
    ['m', state.m],
    ['v', state.v],
  ] as const) {
    if (array.length !== size) {
      throw new CheckpointError(
        `checkpoint ${dir}: ${name} holds ${array.length} floats, the model has ${size} parameters`,
        'Pass params, m and v in the flat layout of the spec (paramLayout(spec).size floats each).',
      );
    }
  }
  // Copies, so that the bytes hashed are the bytes written.
  const weights = Uint8Array.from(new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
  const model = Buffer.from(`${JSON.stringify(modelJson(spec), null, 2)}\n`);
  const stateBytes = encodeState(state, { weightsSha256: sha256(weights), modelSha256: sha256(model) });
  const contents: Record<FileName, Uint8Array> = { [WEIGHTS_FILE]: weights, [MODEL_FILE]: model, [STATE_FILE]: stateBytes };
  try {
    const created = await makeDirectory(dir);
    // New directories exist only once their parents' entries are on disk too.
    if (created !== undefined) for (let d = resolve(dir); d !== dirname(resolve(created)); d = dirname(d)) await syncDirectory(dirname(d));
    await settle(dir, await choose(dir).catch(() => undefined));
    let done = 0;
    const operation = async (op: Promise<void>): Promise<void> => {
      await op;
      opts.afterOperation?.(++done);
    };
    for (const name of FILES) await operation(writeFileDurably(join(dir, pending(name)), contents[name]));
    await operation(syncDirectory(dir));
    for (const name of FILES) await operation(renameDurably(dir, join(dir, pending(name)), join(dir, name)));
  } catch (error) {
    throw writeFailure(dir, error);
  }
}
