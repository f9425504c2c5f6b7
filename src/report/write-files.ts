/** Writes a report's files (Markdown, JSON, charts) into one folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes each named file into dir (created if need be); returns the paths written. */
export async function writeReportFiles(dir: string, files: Readonly<Record<string, string | Buffer>>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, content);
    written.push(path);
  }
  return written;
}
