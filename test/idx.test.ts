import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { decodeIdx, encodeIdx, readIdx, type IdxArray } from '../src/data/idx.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corefit-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const IMAGES: IdxArray = { dtype: 'ubyte', dims: [3, 2, 2], data: Uint8Array.from({ length: 12 }, (_, i) => i * 20) };
const HEADER = [0x00, 0x00, 0x08, 0x03, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2];

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

async function expectDataError(file: string, problem: RegExp): Promise<DataError> {
  const error = await readIdx(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataError);
  const dataError = error as DataError;
  expect(dataError.file).toBe(file);
  expect(dataError.message).toContain(file);
  expect(dataError.message).toMatch(problem);
  expect(dataError.hint).toBeTruthy();
  return dataError;
}

describe('readIdx on valid files', () => {
  it('reads a raw ubyte file with its dims', async () => {
    const bytes = encodeIdx(IMAGES);
    expect(Array.from(bytes.subarray(0, 16))).toEqual(HEADER);
    const idx = await readIdx(await write('ok-ubyte', bytes));
    expect(idx.gzipped).toBe(false);
    expect(idx.dtype).toBe('ubyte');
    expect(idx.dims).toEqual([3, 2, 2]);
    expect(Array.from(idx.data)).toEqual(Array.from(IMAGES.data));
  });

  it.each([
    ['byte', Int8Array.of(-128, -1, 0, 1, 127)],
    ['short', Int16Array.of(-32768, -2, 0, 258, 32767)],
    ['int', Int32Array.of(-(2 ** 31), -70000, 0, 16909060, 2 ** 31 - 1)],
    ['float', Float32Array.of(-1.5, 0, 0.25, 3.4e38, Math.fround(0.1))],
    ['double', Float64Array.of(-1e300, 0, 0.1, Math.PI, 5e-324)],
  ] as const)('reads big-endian %s values', async (dtype, data) => {
    const idx = await readIdx(await write(`ok-${dtype}`, encodeIdx({ dtype, dims: [5], data })));
    expect(idx.dtype).toBe(dtype);
    expect(idx.data.constructor).toBe(data.constructor);
    expect(Array.from(idx.data)).toEqual(Array.from(data));
  });

  it('stores multi-byte values big-endian, as the format says', async () => {
    const bytes = encodeIdx({ dtype: 'short', dims: [1], data: Int16Array.of(0x0102) });
    expect(Array.from(bytes)).toEqual([0, 0, 0x0b, 1, 0, 0, 0, 1, 0x01, 0x02]);
  });

  it('detects gzip by its magic bytes, whatever the name', async () => {
    const gz = gzipSync(encodeIdx(IMAGES));
    for (const name of ['named-raw-but-gzipped', 'gzipped.gz']) {
      const idx = await readIdx(await write(name, gz));
      expect(idx.gzipped).toBe(true);
      expect(idx.dims).toEqual([3, 2, 2]);
      expect(Array.from(idx.data)).toEqual(Array.from(IMAGES.data));
    }
    const plain = await readIdx(await write('named-gz-but-raw.gz', encodeIdx(IMAGES)));
    expect(plain.gzipped).toBe(false);
    expect(Array.from(plain.data)).toEqual(Array.from(IMAGES.data));
  });

  it('reads gzip files larger than one zlib chunk', async () => {
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 256);
    const idx = await readIdx(await write('big.gz', gzipSync(encodeIdx({ dtype: 'ubyte', dims: [200, 1000], data }))));
    expect(idx.dims).toEqual([200, 1000]);
    expect(idx.data).toEqual(data);
  });
});

describe('readIdx refuses bad files, naming the file and the problem', () => {
  const valid = encodeIdx(IMAGES);
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /is empty/],
    ['wrong magic', Uint8Array.from([0x12, 0x34, ...valid.subarray(2)]), /not an IDX file: it starts with 0x12 0x34/],
    ['one nonzero byte', Uint8Array.of(0x41), /not an IDX file/],
    ['unknown dtype', Uint8Array.from([0, 0, 0x07, ...valid.subarray(3)]), /unknown IDX data type 0x07/],
    ['zero dims', Uint8Array.of(0, 0, 0x08, 0), /declares 0 dimensions/],
    ['truncated magic', valid.subarray(0, 3), /truncated: its header is incomplete, but it has 3 bytes/],
    ['truncated dims', valid.subarray(0, 10), /truncated: its header is incomplete, but it has 10 bytes/],
    ['truncated data', valid.subarray(0, 20), /truncated: its header declares 3×2×2 ubyte, which needs 28 bytes, but it has 20 bytes/],
    ['trailing bytes', Uint8Array.from([...valid, 1, 2, 3]), /3 trailing bytes after the 3×2×2 ubyte its header declares/],
    [
      'wrong dims',
      Uint8Array.from([...HEADER.slice(0, 8), 0, 0, 0, 3, ...HEADER.slice(12), ...IMAGES.data]),
      /truncated: its header declares 3×3×2 ubyte, which needs 34 bytes, but it has 28 bytes/,
    ],
    ['huge dims', Uint8Array.of(0, 0, 0x0e, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1), /impossible size/],
    ['large dims', Uint8Array.of(0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0, 7), /needs 4294967308 bytes, but it has 13 bytes/],
  ];

  it.each(cases)('raw: %s', async (name, bytes, problem) => {
    await expectDataError(await write(`bad-${name.replace(/ /g, '-')}`, bytes), problem);
  });

  it.each(cases.filter(([name]) => name !== 'empty'))('gzip: %s', async (name, bytes, problem) => {
    // Gunzipping stops as soon as the output outgrows the header's size, so trailing bytes read differently.
    const expected = name === 'trailing bytes' ? /holds more than the 28 bytes its IDX header declares \(after gunzip\)/ : problem;
    await expectDataError(await write(`bad-${name.replace(/ /g, '-')}.gz`, gzipSync(bytes)), expected);
  });

  it('gzip: an empty payload', async () => {
    await expectDataError(await write('empty-payload.gz', gzipSync(new Uint8Array(0))), /is empty after gunzip/);
  });

  it('gzip: a truncated gzip stream', async () => {
    const gz = gzipSync(encodeIdx({ dtype: 'ubyte', dims: [100, 100], data: Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) % 251) }));
    await expectDataError(await write('cut.gz', gz.subarray(0, gz.length >> 1)), /not a readable gzip file \(unexpected end of file\)/);
  });

  it('gzip: a corrupt gzip stream', async () => {
    const gz = Uint8Array.from(gzipSync(encodeIdx(IMAGES)));
    gz.fill(0xff, 10, 20);
    await expectDataError(await write('corrupt.gz', gz), /not a readable gzip file/);
  });

  it('a missing file', async () => {
    await expectDataError(join(dir, 'no-such-file'), /does not exist/);
  });

  it('a folder instead of a file', async () => {
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    await expectDataError(folder, /is a folder, not a file/);
  });
});

describe('decodeIdx', () => {
  it('names the given file in errors', async () => {
    await expect(decodeIdx(new Uint8Array(0), 'label-bytes')).rejects.toThrow(/^label-bytes: is empty$/);
  });
});
