/**
 * Builds the TypeScript before any suite runs, however vitest was started (`npm test`,
 * `npx vitest run test/x.test.ts`): worker threads and CLI runs load dist/, so the tests
 * always test the code they see. The same command as `npm run build`: both keep one
 * record of what is built (dist/tsconfig.tsbuildinfo), so an unchanged tree builds in
 * about a second and a change recompiles only what it affects.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { PACKAGE_ROOT } from '../src/paths.js';

export default function build(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.json', '--incremental'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
}
