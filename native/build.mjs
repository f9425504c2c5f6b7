// The package's install script: builds the native engine (build/Release/corefit.node) with
// node-gyp and the C++ compiler it finds; no other library. It never fails the install:
// when the build fails (no compiler), it says in one line how to get the native engine,
// and corefit uses tfjs.
// Run by npm (`npm install`, `npm rebuild corefit`) or by hand: `node native/build.mjs`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gypRebuild } from './node-gyp.mjs';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const ADDON = join(ROOT, 'build', 'Release', 'corefit.node');
const GET_IT =
  process.platform === 'darwin'
    ? 'install the Xcode command line tools (xcode-select --install)'
    : 'install a C++ compiler, make and python3 (Debian/Ubuntu: apt-get install g++ make python3)';

/** @param {string} reason */
function unavailable(reason) {
  console.warn(
    `corefit: native engine unavailable (${reason}); corefit will use the slower tfjs engine. ` +
      `To get it: ${GET_IT}, then run \`npm rebuild corefit\` (or \`node native/build.mjs\` in a checkout).`,
  );
  process.exit(0);
}

const failure = gypRebuild(ROOT);
if (failure !== undefined) unavailable(failure);

try {
  const info = createRequire(import.meta.url)(ADDON).kernelInfo();
  const chosen = info.paths.find((/** @type {{ name: string }} */ p) => p.name === info.chosen);
  console.log(`corefit: native engine built (kernels: ${chosen.isa}).`);
} catch (e) {
  unavailable(`the built addon does not load: ${e instanceof Error ? e.message : String(e)}`);
}
