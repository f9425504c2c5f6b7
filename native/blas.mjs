// Finds the BLAS the native engine links. build.mjs asks whether there is one; binding.gyp
// asks for its flags: `node native/blas.mjs include_dirs|libraries` (macOS uses Accelerate
// and needs neither).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {{ name: string, includeDirs: string[], libraries: string[] }} Blas */

/** @returns {Blas | undefined} */
export function findBlas() {
  if (process.platform === 'darwin') return { name: 'Accelerate', includeDirs: [], libraries: [] };
  return fromPkgConfig() ?? fromUsualPaths();
}

/** @returns {Blas | undefined} */
function fromPkgConfig() {
  const flags = (/** @type {string} */ what) =>
    execFileSync('pkg-config', [what, 'openblas'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split(/\s+/)
      .filter(Boolean);
  try {
    return {
      name: 'OpenBLAS (pkg-config)',
      includeDirs: flags('--cflags-only-I').map((f) => f.slice(2)),
      libraries: flags('--libs'),
    };
  } catch {
    return undefined; // no pkg-config, or it does not know openblas
  }
}

/** Debian/Ubuntu's libopenblas-dev and the usual source-install prefixes. */
function fromUsualPaths() {
  const triplet = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? 'unknown';
  const includeDir = [
    `/usr/include/${triplet}/openblas-pthread`,
    `/usr/include/${triplet}/openblas-openmp`,
    '/usr/include/openblas',
    '/usr/local/include/openblas',
    '/usr/local/include',
    '/usr/include',
  ].find((d) => existsSync(join(d, 'cblas.h')) && existsSync(join(d, 'openblas_config.h')));
  const libDir = [`/usr/lib/${triplet}/openblas-pthread`, `/usr/lib/${triplet}`, '/usr/lib64', '/usr/lib', '/usr/local/lib'].find(
    (d) => existsSync(join(d, 'libopenblas.so')),
  );
  if (includeDir === undefined || libDir === undefined) return undefined;
  return { name: 'OpenBLAS', includeDirs: [includeDir], libraries: [`-L${libDir}`, '-lopenblas'] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const blas = findBlas();
  const what = process.argv[2];
  if (blas === undefined) {
    console.error('corefit: no OpenBLAS found (apt-get install libopenblas-dev)');
    process.exit(1);
  }
  if (what !== 'include_dirs' && what !== 'libraries') {
    console.error('usage: node native/blas.mjs include_dirs|libraries');
    process.exit(64);
  }
  console.log((what === 'include_dirs' ? blas.includeDirs : blas.libraries).join(' '));
}
