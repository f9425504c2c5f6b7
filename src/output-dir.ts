/** A folder a command writes into (checkpoints, reports): checked before any work is spent, and its write errors explained. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './errors.js';
import { writeProblem } from './io-problem.js';

/**
 * Creates `dir` if needed and writes and removes a probe file in it, so that a folder
 * that cannot be written is refused before the work (an epoch, a benchmark), not after.
 */
export async function assertWritableDirectory(dir: string, flag: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.corefit-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    throw new UsageError(`${flag} ${dir} cannot be written: ${writeProblem(error)}`, `Give ${flag} a folder you can write to; it is created if missing.`);
  }
}
