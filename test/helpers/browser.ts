/** Debian's Chromium driven by playwright-core, for the tests of pages; never playwright's own browser download. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const browserMissing: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing (install Debian's chromium: apt-get install chromium)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where tests leave screenshots for people to look at (not checked in). */
export async function artifactPath(name: string): Promise<string> {
  const dir = join(PACKAGE_ROOT, 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return join(dir, name);
}
