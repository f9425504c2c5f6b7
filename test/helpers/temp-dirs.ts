/** Fresh directories under one temporary root that the suite removes when it ends. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** Call at the top of a suite; each call of the returned function names a new directory (not yet created). */
export function freshDirs(prefix: string): () => string {
  let root: string | undefined;
  let count = 0;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });
  return () => join(root!, `dir-${count++}`);
}
