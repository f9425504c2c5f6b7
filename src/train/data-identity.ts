/**
 * Which rows a run trains and tests on, by name and content: a checkpoint keeps it, so that
 * `--resume` with other data (a forgotten `--data`, a changed file) is refused instead of
 * continuing on quietly different numbers; MPI ranks compare it at start-up.
 */
import { createHash } from 'node:crypto';
import type { DataIdentity } from '../checkpoint/run-state.js';
import type { SharedSplit } from '../parallel/buffers.js';

/** The first 16 hex digits of the SHA-256 of `parts`, one after another. */
export function sha256Hex(...parts: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return hash.digest('hex').slice(0, 16);
}

export function dataIdentity(name: string, train: SharedSplit, test: SharedSplit): DataIdentity {
  return { name, rowsSha256: sha256Hex(train.x, train.labels, test.x, test.labels) };
}

export function describeData(data: DataIdentity): string {
  return `${data.name} (sha256 of the rows used ${data.rowsSha256})`;
}
