/** File operations that survive a crash: data on disk before its name is, names in order. */
import { open, rename } from 'node:fs/promises';
import { errnoCode } from '../io-problem.js';

/** Writes the whole file and flushes it to disk before returning. */
export async function writeFileDurably(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a directory's entries (new names, renames) to disk. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    // Windows cannot open a directory as a file; NTFS journals the renames itself.
    const code = errnoCode(error);
    if (code === 'EISDIR' || code === 'EPERM') return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames within `dir` and makes the rename durable before the next one. */
export async function renameDurably(dir: string, from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDirectory(dir);
}
