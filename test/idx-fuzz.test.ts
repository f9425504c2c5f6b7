/**
 * Property-based tests of the IDX reader: random bytes and random damage to valid
 * files either decode consistently or give a DataError, never another exception.
 * Runs are bounded (numRuns) so the suite stays quick.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { decodeIdx, encodeIdx, type IdxArray } from '../src/data/idx.js';
import { applyAll, damages } from './helpers/damage.js';

const RUNS = 500;

/** Decodes, and checks that what decodes is self-consistent; returns 'ok' or the error's class. */
async function outcome(bytes: Uint8Array): Promise<'ok' | 'DataError'> {
  try {
    const idx = await decodeIdx(bytes, 'fuzz');
    expect(idx.dims.length).toBeGreaterThan(0);
    expect(idx.data.length).toBe(idx.dims.reduce((a, b) => a * b, 1));
    return 'ok';
  } catch (error) {
    if (error instanceof DataError && error.file === 'fuzz') return 'DataError';
    throw error;
  }
}

const VALID: readonly IdxArray[] = [
  { dtype: 'ubyte', dims: [4, 3, 3], data: Uint8Array.from({ length: 36 }, (_, i) => (i * 37) % 256) },
  { dtype: 'byte', dims: [6], data: Int8Array.of(-3, -2, -1, 0, 1, 2) },
  { dtype: 'short', dims: [2, 3], data: Int16Array.of(-300, 0, 300, 1, 2, 3) },
  { dtype: 'int', dims: [3, 1], data: Int32Array.of(-70000, 0, 70000) },
  { dtype: 'float', dims: [2, 2], data: Float32Array.of(0, 0.5, 1, -2) },
  { dtype: 'double', dims: [1, 2, 2], data: Float64Array.of(0.1, 0.2, 0.3, 0.4) },
];
const validFile = fc.constantFrom(...VALID.map((a) => encodeIdx(a)));

describe('IDX reader fuzzing', () => {
  it('random bytes give a DataError or a consistent array', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        await outcome(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid header with random sizes and a random body never allocates what is not there', async () => {
    const headerThenBody = fc
      .tuple(
        fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e),
        fc.array(fc.oneof(fc.nat({ max: 8 }), fc.nat({ max: 0xffffffff })), { minLength: 1, maxLength: 6 }),
        fc.uint8Array({ maxLength: 512 }),
      )
      .map(([dtype, dims, body]) => {
        const header = new Uint8Array(4 + 4 * dims.length);
        header[2] = dtype;
        header[3] = dims.length;
        dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d, false));
        return Uint8Array.from([...header, ...body]);
      });
    await fc.assert(
      fc.asyncProperty(headerThenBody, async (bytes) => {
        await outcome(bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('damaged raw files give a DataError or a consistent array', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, damages, async (file, ds) => {
        await outcome(applyAll(file, ds));
      }),
      { numRuns: RUNS },
    );
  });

  it('damaged gzip files give a DataError or a consistent array', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, damages, async (file, ds) => {
        await outcome(applyAll(gzipSync(file), ds));
      }),
      { numRuns: RUNS },
    );
  });

  it('gzip of damaged files gives a DataError or a consistent array', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, damages, async (file, ds) => {
        await outcome(gzipSync(applyAll(file, ds)));
      }),
      { numRuns: RUNS },
    );
  });

  it('a truncated valid file is always refused, raw or gzipped', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, fc.nat(), fc.boolean(), async (file, cut, gzip) => {
        const short = file.subarray(0, cut % file.length);
        expect(await outcome(gzip ? gzipSync(short) : short)).toBe('DataError');
      }),
      { numRuns: RUNS },
    );
  });

  it('a valid file with bytes appended is always refused, raw or gzipped', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.boolean(), async (file, extra, gzip) => {
        const long = Uint8Array.from([...file, ...extra]);
        expect(await outcome(gzip ? gzipSync(long) : long)).toBe('DataError');
      }),
      { numRuns: RUNS },
    );
  });
});
