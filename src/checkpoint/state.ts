/**
 * The training-state file, state.msgpack: what `--resume` needs besides the weights
 * (Adam's moments and the run state, checkpoint/run-state.ts) and the SHA-256 of the
 * other two files, which ties the three together. Plain msgpack: m and v are binary
 * fields holding little-endian float32, like weights.bin. The state is the body of an
 * envelope that holds its SHA-256 too, so that a damaged state file is refused rather
 * than resumed from with wrong moments or a wrong step.
 */
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { runStateFromJson, runStateToJson, type RunState } from './run-state.js';

const STATE_FORMAT = 'corefit-training-state';
/**
 * 4: each epoch records its workers' samples/s (worker_samples_per_sec, step_seconds.workerRows);
 * 3: the run state stored once (config, progress, rng); 2 kept step, epoch, rng and history twice.
 */
const STATE_VERSION = 4;

export interface TrainingState {
  /** Adam's first and second moments, in the flat parameter layout. */
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly run: RunState;
}

/** The SHA-256 (hex) of the files the state belongs to. */
export interface StateSeal {
  readonly weightsSha256: string;
  readonly modelSha256: string;
}

// Records off: a standard msgpack map that any msgpack reader can decode.
const packr = new Packr({ useRecords: false });

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Copies float32 bytes into a fresh, aligned Float32Array. */
export function float32From(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function encodeState(state: TrainingState, seal: StateSeal): Uint8Array {
  // Copies: pack() returns a view of a buffer it reuses.
  const body = Uint8Array.from(packr.pack({ ...seal, m: bytesOf(state.m), v: bytesOf(state.v), run: runStateToJson(state.run) }));
  return Uint8Array.from(packr.pack({ format: STATE_FORMAT, version: STATE_VERSION, sha256: sha256(body), body }));
}

/** msgpack, with its decoder's complaint said as a problem of the file. */
function unpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (error) {
    throw new Error(`it is not valid msgpack (${(error as Error).message})`, { cause: error });
  }
}

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Reads a state file; throws an Error saying what is wrong. The caller checks m and v against its model. */
export function decodeState(bytes: Uint8Array): { state: TrainingState; seal: StateSeal } {
  const envelope = unpack(bytes);
  if (!isObject(envelope) || envelope.format !== STATE_FORMAT) throw new Error(`it is not a ${STATE_FORMAT} file`);
  if (envelope.version !== STATE_VERSION) throw new Error(`its version ${String(envelope.version)} is not the supported ${STATE_VERSION}`);
  if (!(envelope.body instanceof Uint8Array) || envelope.sha256 !== sha256(envelope.body)) {
    throw new Error('its content does not match the SHA-256 it holds: the file was damaged');
  }
  const raw = unpack(envelope.body);
  if (!isObject(raw)) throw new Error('its content is not a map');
  const { m, v, run, weightsSha256, modelSha256 } = raw;
  if (!(m instanceof Uint8Array) || !(v instanceof Uint8Array) || m.byteLength % 4 !== 0 || v.byteLength % 4 !== 0) {
    throw new Error("Adam's m and v must be float32 bytes");
  }
  if (typeof weightsSha256 !== 'string' || typeof modelSha256 !== 'string') throw new Error('the SHA-256 of weights.bin or model.json is missing');
  return {
    state: { m: float32From(m), v: float32From(v), run: runStateFromJson(run) },
    seal: { weightsSha256, modelSha256 },
  };
}
