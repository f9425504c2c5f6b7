/** A folder a command writes into (checkpoints, reports): checked before any work is spent, and its write errors explained. */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { errnoCode, writeProblem } from './io-problem.js';

function fsError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * `mkdir -p`: creates `dir` and its missing parents, and returns the first folder it
 * created (undefined when `dir` existed), as `mkdir(dir, { recursive: true })` does.
 * Not that call itself: where a file system answers mkdir with ENOENT inside a folder
 * that exists (/proc, /sys), Node retries it forever. Here each missing folder is
 * created once, from the top down, and any failure is thrown.
 */
export async function makeDirectory(dir: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const found = await stat(d).catch((error: unknown) => {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (found !== undefined) {
      if (!found.isDirectory()) throw fsError(d === resolve(dir) ? 'EEXIST' : 'ENOTDIR', `${d} is not a folder`);
      break;
    }
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      await mkdir(d);
    } catch (error) {
      // Another process may have created it meanwhile; anything but a folder is in the way.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(d)).isDirectory()) throw error;
    }
  }
  return missing[0];
}

/**
 * Creates `dir` if needed and writes and removes a probe file in it, so that a folder
 * that cannot be written is refused before the work (an epoch, a benchmark), not after.
 */
export async function assertWritableDirectory(dir: string, flag: string): Promise<void> {
  try {
    await makeDirectory(dir);
    const probe = join(dir, `.corefit-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    throw new UsageError(`${flag} ${dir} cannot be written: ${writeProblem(error)}`, `Give ${flag} a folder you can write to; it is created if missing.`);
  }
}
