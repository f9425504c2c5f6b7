/**
 * What `npm pack` ships: every file corefit reads at run time from its own package, so
 * that an installed corefit (not only a checkout) can train, bench against PyTorch,
 * serve the dashboard and build its addon.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTORCH_PEER_SCRIPT } from '../src/bench/pytorch-runner.js';
import { DASHBOARD_PAGE_DIR, NATIVE_ADDON, PACKAGE_ROOT, TRAIN_WORKER } from '../src/paths.js';

describe('the npm package', () => {
  it('holds every file corefit reads from its own folder at run time', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], { cwd: PACKAGE_ROOT, encoding: 'utf8' })) as Array<{
      files: Array<{ path: string }>;
    }>;
    const shipped = new Set(pack.files.map((f) => f.path));
    const needed = [
      PYTORCH_PEER_SCRIPT,
      TRAIN_WORKER,
      join(PACKAGE_ROOT, 'dist', 'src', 'cli.js'),
      ...readdirSync(DASHBOARD_PAGE_DIR).map((f) => join(DASHBOARD_PAGE_DIR, f)),
      // The addon is built at install from these, not shipped.
      join(PACKAGE_ROOT, 'binding.gyp'),
      join(PACKAGE_ROOT, 'native', 'build.mjs'),
      ...readdirSync(join(PACKAGE_ROOT, 'native'))
        .filter((f) => /\.(cc|h)$/.test(f))
        .map((f) => join(PACKAGE_ROOT, 'native', f)),
    ].map((path) => relative(PACKAGE_ROOT, path));
    expect(needed.filter((path) => !shipped.has(path))).toEqual([]);
    expect(shipped.has(relative(PACKAGE_ROOT, NATIVE_ADDON))).toBe(false);
  });
});
