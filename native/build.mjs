// The package's install script: builds the native engine (build/Release/corefit.node) with
// node-gyp and the C++ compiler it finds; no other library. It never fails the install:
// when the build fails (no compiler), it says in one line how to get the native engine,
// and corefit uses tfjs.
// Run by npm (`npm install`, `npm rebuild corefit`) or by hand: `node native/build.mjs`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** node-gyp: the copy npm names for lifecycle scripts, else npm's bundled one beside this node, else PATH's. */
function nodeGyp() {
  const bin = dirname(process.execPath);
  const script = [
    process.env.npm_config_node_gyp,
    join(bin, '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(bin, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => p !== undefined && p !== '' && existsSync(p));
  return script === undefined ? { command: 'node-gyp', args: [] } : { command: process.execPath, args: [script] };
}

/** This node's own headers, when it ships them, so that node-gyp needs no download (offline machines). */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

const gyp = nodeGyp();
const build = spawnSync(gyp.command, [...gyp.args, 'rebuild', ...nodedirArgs()], { cwd: ROOT, stdio: 'inherit' });
if (build.error !== undefined) unavailable(`cannot run node-gyp: ${build.error.message}`);
if (build.status !== 0) unavailable('the build failed; see the messages above');

try {
  const info = createRequire(import.meta.url)(ADDON).kernelInfo();
  const chosen = info.paths.find((/** @type {{ name: string }} */ p) => p.name === info.chosen);
  console.log(`corefit: native engine built (kernels: ${chosen.isa}).`);
} catch (e) {
  unavailable(`the built addon does not load: ${e instanceof Error ? e.message : String(e)}`);
}
