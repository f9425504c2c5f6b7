/**
 * The IDX format (MNIST's): magic 0x00 0x00 <dtype> <ndims>, then ndims big-endian
 * uint32 sizes, then the values, big-endian, row-major. Files may be gzip-compressed;
 * that is detected by the gzip magic bytes, not by the name.
 *
 * Every declared size is checked against the bytes actually present before anything
 * is allocated, so a corrupt or hostile file costs at most its own size.
 */
import { readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '../errors.js';
import { readProblem } from '../io-problem.js';

export type IdxDtype = 'ubyte' | 'byte' | 'short' | 'int' | 'float' | 'double';
export type IdxValues = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  readonly dtype: IdxDtype;
  readonly dims: readonly number[];
  /** The values, row-major, in host byte order. */
  readonly data: IdxValues;
}

export interface IdxFile extends IdxArray {
  readonly file: string;
  readonly gzipped: boolean;
}

interface DtypeInfo {
  readonly name: IdxDtype;
  readonly code: number;
  readonly size: number;
}

const DTYPES: readonly DtypeInfo[] = [
  { name: 'ubyte', code: 0x08, size: 1 },
  { name: 'byte', code: 0x09, size: 1 },
  { name: 'short', code: 0x0b, size: 2 },
  { name: 'int', code: 0x0c, size: 4 },
  { name: 'float', code: 0x0d, size: 4 },
  { name: 'double', code: 0x0e, size: 8 },
];

const GZIP_MAGIC = [0x1f, 0x8b];
const CORRUPT_HINT = 'The file is damaged or incomplete: download it again.';
const FORMAT_HINT =
  'IDX files start with 0x00 0x00, a type byte (0x08 ubyte … 0x0E double) and the number of dimensions; use the MNIST-format files (raw or .gz).';

interface Header {
  readonly dtype: DtypeInfo;
  readonly dims: readonly number[];
  readonly headerBytes: number;
  /** headerBytes + the declared data bytes: the exact length a valid file has. */
  readonly totalBytes: number;
}

function hex(byte: number): string {
  return '0x' + byte.toString(16).padStart(2, '0');
}

/** E.g. "60000×28×28 ubyte". */
function shape(header: Header): string {
  return `${header.dims.join('×')} ${header.dtype.name}`;
}

/** Parses the header, or returns undefined while `bytes` is too short to hold all of it. */
function readHeader(bytes: Uint8Array, file: string): Header | undefined {
  const start = bytes.subarray(0, 2);
  if (start.some((b) => b !== 0)) {
    throw new DataError(file, `is not an IDX file: it starts with ${Array.from(start, hex).join(' ')}, not 0x00 0x00`, FORMAT_HINT);
  }
  if (bytes.length < 4) return undefined;
  const dtype = DTYPES.find((d) => d.code === bytes[2]);
  if (dtype === undefined) {
    throw new DataError(file, `has unknown IDX data type ${hex(bytes[2])}`, FORMAT_HINT);
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new DataError(file, 'declares 0 dimensions', FORMAT_HINT);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const size = view.getUint32(4 + 4 * i, false);
    dims.push(size);
    count *= size;
  }
  const header = { dtype, dims, headerBytes, totalBytes: headerBytes + count * dtype.size };
  if (!Number.isSafeInteger(header.totalBytes)) throw new DataError(file, `declares an impossible size (${shape(header)})`, CORRUPT_HINT);
  return header;
}

function truncated(file: string, have: number, header: Header | undefined, unit: string): DataError {
  const declared = header === undefined ? 'its header is incomplete' : `its header declares ${shape(header)}, which needs ${header.totalBytes} bytes`;
  return new DataError(file, `is truncated: ${declared}, but it has ${have} ${unit}`, CORRUPT_HINT);
}

/** Decodes an uncompressed IDX image (`gzipped` only changes the messages). */
function parseIdx(bytes: Uint8Array, file: string, gzipped: boolean): IdxArray {
  const unit = gzipped ? 'bytes after gunzip' : 'bytes';
  if (bytes.length === 0) throw new DataError(file, gzipped ? 'is empty after gunzip' : 'is empty', CORRUPT_HINT);
  const header = readHeader(bytes, file);
  if (header === undefined || bytes.length < header.totalBytes) throw truncated(file, bytes.length, header, unit);
  if (bytes.length > header.totalBytes) {
    throw new DataError(file, `has ${bytes.length - header.totalBytes} trailing ${unit} after the ${shape(header)} its header declares`, CORRUPT_HINT);
  }
  const { dtype, dims, headerBytes } = header;
  const count = (header.totalBytes - headerBytes) / dtype.size;
  const offset = bytes.byteOffset + headerBytes;
  if (dtype.name === 'ubyte') return { dtype: dtype.name, dims, data: new Uint8Array(bytes.buffer, offset, count) };
  if (dtype.name === 'byte') return { dtype: dtype.name, dims, data: new Int8Array(bytes.buffer, offset, count) };
  // Multi-byte values are big-endian in the file and need not be aligned: copy through a DataView.
  const view = new DataView(bytes.buffer, offset, count * dtype.size);
  switch (dtype.name) {
    case 'short': {
      const data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(2 * i, false);
      return { dtype: dtype.name, dims, data };
    }
    case 'int': {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(4 * i, false);
      return { dtype: dtype.name, dims, data };
    }
    case 'float': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, false);
      return { dtype: dtype.name, dims, data };
    }
    case 'double': {
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(8 * i, false);
      return { dtype: dtype.name, dims, data };
    }
  }
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * Gunzips, stopping as soon as the output exceeds the size its IDX header declares:
 * a small corrupt or hostile .gz file cannot make us hold more than one chunk beyond it.
 */
async function gunzipIdx(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  const gunzip = createGunzip();
  gunzip.end(bytes);
  const chunks: Buffer[] = [];
  let total = 0;
  let limit: number | undefined;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (limit === undefined && total >= 4) {
        limit = readHeader(chunks.length === 1 ? chunk : Buffer.concat(chunks), file)?.totalBytes;
      }
      if (limit !== undefined && total > limit) {
        throw new DataError(file, `holds more than the ${limit} bytes its IDX header declares (after gunzip)`, CORRUPT_HINT);
      }
    }
  } catch (error) {
    gunzip.destroy();
    if (error instanceof DataError) throw error;
    throw new DataError(file, `is not a readable gzip file (${(error as Error).message})`, CORRUPT_HINT);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/** Decodes the bytes of an IDX file, gzip-compressed or not. `file` names it in errors. */
export async function decodeIdx(bytes: Uint8Array, file: string): Promise<IdxFile> {
  const gzipped = isGzip(bytes);
  const raw = gzipped ? await gunzipIdx(bytes, file) : bytes;
  return { file, gzipped, ...parseIdx(raw, file, gzipped) };
}

export async function readIdx(file: string): Promise<IdxFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new DataError(file, readProblem(error), 'Check the path given to --data.');
  }
  return decodeIdx(bytes, file);
}

/** Encodes an array as an uncompressed IDX file (the reader's inverse; used to write fixtures). */
export function encodeIdx(array: IdxArray): Uint8Array {
  const dtype = DTYPES.find((d) => d.name === array.dtype);
  if (dtype === undefined) throw new TypeError(`unknown IDX dtype ${array.dtype}`);
  const headerBytes = 4 + 4 * array.dims.length;
  const bytes = new Uint8Array(headerBytes + array.data.length * dtype.size);
  const view = new DataView(bytes.buffer);
  bytes[2] = dtype.code;
  bytes[3] = array.dims.length;
  array.dims.forEach((size, i) => view.setUint32(4 + 4 * i, size, false));
  const setters: Record<IdxDtype, (offset: number, value: number) => void> = {
    ubyte: (o, v) => view.setUint8(o, v),
    byte: (o, v) => view.setInt8(o, v),
    short: (o, v) => view.setInt16(o, v, false),
    int: (o, v) => view.setInt32(o, v, false),
    float: (o, v) => view.setFloat32(o, v, false),
    double: (o, v) => view.setFloat64(o, v, false),
  };
  const set = setters[array.dtype];
  for (let i = 0; i < array.data.length; i++) set(headerBytes + i * dtype.size, array.data[i]);
  return bytes;
}
