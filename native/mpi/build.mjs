// Builds corefit's MPI transport (native/mpi/build/Release/corefit_mpi.node) where `mpicc`
// is found; run by the package's install script after the engine's build. Without MPI it
// does nothing: only `corefit train --comm mpi` needs it, and that command says how to get it.
// By hand: `node native/mpi/build.mjs`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gypRebuild } from '../node-gyp.mjs';

const DIR = dirname(fileURLToPath(import.meta.url));

if (spawnSync('mpicc', ['--showme:link'], { stdio: 'ignore' }).status !== 0) process.exit(0);
const failure = gypRebuild(DIR);
if (failure !== undefined) {
  console.warn(`corefit: MPI transport unavailable (${failure}); \`corefit train --comm mpi\` will say so. Training on one machine is not affected.`);
  process.exit(0);
}
try {
  createRequire(import.meta.url)(join(DIR, 'build', 'Release', 'corefit_mpi.node'));
  console.log('corefit: MPI transport built (corefit train --comm mpi).');
} catch (e) {
  console.warn(`corefit: MPI transport unavailable (the built addon does not load: ${e instanceof Error ? e.message : String(e)}).`);
}
