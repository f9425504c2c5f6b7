/** Locates files that ship with the package, whether code runs from src/ (tests) or dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'corefit') {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('corefit: cannot find its own package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();

/** The compiled worker entry Piscina loads (the tests' global setup builds it first). */
export const TRAIN_WORKER = join(PACKAGE_ROOT, 'dist', 'workers', 'train-worker.js');

/** The compiled entry of the MPI communication thread (parallel/mpi/session.ts starts it). */
export const COMM_THREAD = join(PACKAGE_ROOT, 'dist', 'workers', 'comm-thread.js');

/** The native addon built by `npm install`. */
export const NATIVE_ADDON = join(PACKAGE_ROOT, 'build', 'Release', 'corefit.node');

/** The dashboard page's own files (HTML, script, style), served from this folder only. */
export const DASHBOARD_PAGE_DIR = join(PACKAGE_ROOT, 'src', 'dashboard', 'page');

/** echarts' browser build, which the dashboard serves and bench.html inlines: no CDN. */
export const ECHARTS_BROWSER_BUILD = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
