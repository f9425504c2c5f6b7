// How the install scripts (native/build.mjs, native/mpi/build.mjs) run node-gyp offline.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

/**
 * Runs `node-gyp rebuild` in `dir` (which holds a binding.gyp); returns undefined on
 * success, else why it failed.
 * @param {string} dir
 * @returns {string | undefined}
 */
export function gypRebuild(dir) {
  const gyp = nodeGyp();
  const build = spawnSync(gyp.command, [...gyp.args, 'rebuild', ...nodedirArgs()], { cwd: dir, stdio: 'inherit' });
  if (build.error !== undefined) return `cannot run node-gyp: ${build.error.message}`;
  if (build.status !== 0) return 'the build failed; see the messages above';
  return undefined;
}
