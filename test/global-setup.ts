/**
 * Builds the TypeScript before any suite runs, however vitest was started (`npm test`,
 * `npx vitest run test/x.test.ts`): worker threads and CLI runs load dist/, so the tests
 * always test the code they see. The same command as `npm run build`: both keep one
 * record of what is built (dist/tsconfig.tsbuildinfo), so an unchanged tree builds in
 * about a second and a change recompiles only what it affects.
 *
 * The suites' temporary folders go into one folder that is removed when the run ends,
 * on a RAM file system where there is one with room: checkpoints are fsynced at every
 * write, and on a disk that others share each fsync can wait long. What the tests check
 * (a killed process leaves a loadable checkpoint) holds without the disk's part.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

const RAM_DISK = '/dev/shm';
/** The suites write a few hundred MB at most at once; a small /dev/shm (a container's 64 MB) is passed over. */
const ROOM_BYTES = 2 ** 30;

function roomOn(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

export default function setup(): () => void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.json', '--incremental'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });

  const root = mkdtempSync(join(roomOn(RAM_DISK) >= ROOM_BYTES ? RAM_DISK : tmpdir(), 'corefit-test-'));
  // Read by os.tmpdir() in the test processes and in every CLI they start.
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
