/** Writes a report's files (Markdown, JSON, charts) into one folder. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputError } from '../errors.js';
import { writeProblem } from '../io-problem.js';
import { makeDirectory } from '../output-dir.js';

/** Writes each named file into dir (created if need be); returns the paths written. */
export async function writeReportFiles(dir: string, files: Readonly<Record<string, string | Buffer>>): Promise<string[]> {
  const written: string[] = [];
  try {
    await makeDirectory(dir);
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      await writeFile(path, content);
      written.push(path);
    }
  } catch (error) {
    throw new OutputError(
      `cannot write the report into ${dir}: ${writeProblem(error)}`,
      `The results were printed above${written.length > 0 ? `; written before the failure: ${written.join(', ')}` : ''}. Free space or fix the permissions, then run again.`,
      { cause: error },
    );
  }
  return written;
}
