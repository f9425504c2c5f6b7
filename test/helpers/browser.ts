/** The browser the page tests drive, and where they leave screenshots. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export { chromiumMissing as browserMissing, launchChromium } from '../../scripts/chromium.js';

/** Where tests leave screenshots for people to look at (not checked in). */
export async function artifactPath(name: string): Promise<string> {
  const dir = join(PACKAGE_ROOT, 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return join(dir, name);
}
