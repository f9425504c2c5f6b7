/**
 * Property-based tests of the checkpoint reader. Random bytes in place of any of the
 * three files (model.json, weights.bin, state.msgpack), random damage to them, and
 * damaged files left under the pending names of an interrupted write all give a
 * CheckpointError or the checkpoint exactly as written: never another exception, a
 * crash, a hang, or an allocation beyond the files' own size. Runs are bounded.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../src/checkpoint/checkpoint.js';
import { sha256 } from '../src/checkpoint/state.js';
import { CheckpointError } from '../src/errors.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC, validateSpec } from '../src/model/spec.js';
import { Rng } from '../src/rng.js';
import { applyAll, damages } from './helpers/damage.js';
import { sameBits } from './helpers/float-arrays.js';
import { sampleRunState } from './helpers/run-state.js';
import { freshDirs } from './helpers/temp-dirs.js';

const RUNS = 300;
const FILES = ['model.json', 'weights.bin', 'state.msgpack'] as const;
type FileName = (typeof FILES)[number];
type Files = Partial<Record<FileName | `${FileName}.tmp`, Uint8Array>>;

/** A reader that allocated by a size a file declares rather than by its bytes would show here. */
const ALLOCATION_BOUND = 64 * 2 ** 20;

const freshDir = freshDirs('corefit-checkpoint-fuzz-');
let written: Checkpoint;
let valid: Record<FileName, Uint8Array>;
let dir: string;

beforeAll(async () => {
  const spec = validateSpec({
    ...DEFAULT_SPEC,
    name: 'fuzz',
    inputSize: 6,
    layers: [
      { units: 3, activation: 'relu' },
      { units: 6, activation: 'sigmoid' },
    ],
  });
  const rng = Rng.fromSeed(5);
  const params = new Float32Array(paramLayout(spec).size);
  glorotUniformInit(paramLayout(spec), params, rng);
  written = {
    spec,
    params,
    state: {
      m: params.map(() => rng.nextFloat() - 0.5),
      v: params.map(() => rng.nextFloat()),
      run: sampleRunState(5),
    },
  };
  const source = freshDir();
  await writeCheckpoint(source, written);
  valid = Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, new Uint8Array(await readFile(join(source, f)))]))) as Record<FileName, Uint8Array>;
  dir = freshDir();
  await mkdir(dir);
});

/** Lays out exactly `files` in the directory and reads it: a CheckpointError, or what was written. */
async function outcome(files: Files): Promise<'loaded' | 'CheckpointError'> {
  for (const name of await readdir(dir)) await rm(join(dir, name));
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
  const before = process.memoryUsage();
  try {
    const read = await readCheckpoint(dir);
    expect(read.spec).toEqual(written.spec);
    expect(sameBits(read.params, written.params)).toBe(true);
    expect(sameBits(read.state.m, written.state.m) && sameBits(read.state.v, written.state.v)).toBe(true);
    expect({ ...read.state, m: 0, v: 0 }).toEqual({ ...written.state, m: 0, v: 0 });
    return 'loaded';
  } catch (error) {
    if (error instanceof CheckpointError) return 'CheckpointError';
    throw error;
  } finally {
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers + after.heapUsed - before.heapUsed).toBeLessThan(ALLOCATION_BOUND);
  }
}

const fileName = fc.constantFrom(...FILES);
let cases = 0;

/** Checks a property on RUNS random cases, counting them. */
async function check(property: fc.IAsyncProperty<unknown>): Promise<void> {
  await fc.assert(property, { numRuns: RUNS });
  cases += RUNS;
}

afterAll(() => console.info(`checkpoint reader fuzzing: ${cases} cases`));

describe('checkpoint reader fuzzing', () => {
  it('reads the valid files back as written', async () => {
    expect(await outcome(valid)).toBe('loaded');
  });

  it('random bytes in place of one file give a CheckpointError', async () => {
    await check(
      fc.asyncProperty(fileName, fc.uint8Array({ maxLength: 4096 }), async (name, bytes) => {
        expect(await outcome({ ...valid, [name]: bytes })).toBe('CheckpointError');
      }),
    );
  });

  it('damage to one file gives a CheckpointError unless it left the file as it was', async () => {
    await check(
      fc.asyncProperty(fileName, damages, async (name, ds) => {
        const damaged = applyAll(valid[name], ds);
        expect(await outcome({ ...valid, [name]: damaged })).toBe(Buffer.from(damaged).equals(valid[name]) ? 'loaded' : 'CheckpointError');
      }),
    );
  });

  it('damage to every file gives a CheckpointError unless it left them as they were', async () => {
    await check(
      fc.asyncProperty(damages, damages, damages, async (dm, dw, ds) => {
        const damaged = {
          'model.json': applyAll(valid['model.json'], dm),
          'weights.bin': applyAll(valid['weights.bin'], dw),
          'state.msgpack': applyAll(valid['state.msgpack'], ds),
        };
        const intact = FILES.every((f) => Buffer.from(damaged[f]).equals(valid[f]));
        expect(await outcome(damaged)).toBe(intact ? 'loaded' : 'CheckpointError');
      }),
    );
  });

  it('damaged pending files of an interrupted write never hide or replace an intact checkpoint', async () => {
    const pending = fc.record(
      { 'model.json.tmp': fc.uint8Array({ maxLength: 512 }), 'state.msgpack.tmp': fc.uint8Array({ maxLength: 512 }) },
      { requiredKeys: [] },
    );
    await check(
      fc.asyncProperty(pending, fileName, damages, async (tmp, name, ds) => {
        expect(await outcome({ ...valid, ...tmp })).toBe('loaded');
        // With the final set damaged too, the pending set cannot stand in for it.
        const damaged = applyAll(valid[name], ds);
        if (!Buffer.from(damaged).equals(valid[name])) expect(await outcome({ ...valid, ...tmp, [name]: damaged })).toBe('CheckpointError');
      }),
    );
  });

  it('a state file whose sizes lie gives a CheckpointError without allocating them', async () => {
    const packr = new Packr({ useRecords: false });
    const lies = [
      Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3]), // bin32 of ~4 GiB holding 3 bytes
      Buffer.from([0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0]), // array32 of 2^31 - 1 elements holding one
      Buffer.from([0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x61]), // map32 of 2^31 - 1 entries holding half of one
      Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61]), // str32 of ~4 GiB holding one character
    ];
    for (const body of lies) {
      const envelope = packr.pack({ format: 'corefit-training-state', version: 4, sha256: sha256(body), body });
      for (const state of [body, envelope]) expect(await outcome({ ...valid, 'state.msgpack': state })).toBe('CheckpointError');
      cases += 2;
    }
  });
});
