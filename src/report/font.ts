/**
 * The font charts are drawn with. resvg draws no text at all without a font, and a
 * fresh machine may have none installed, so charts load one TTF file explicitly:
 * the `dejavu-fonts-ttf` npm package first, then DejaVu where Linux distributions put it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InstallError } from '../errors.js';
import { readFontMetrics } from './font-metrics.js';

const CHART_FONT_FAMILY = 'DejaVu Sans';

export interface ChartFont {
  readonly family: string;
  /** Regular and bold faces (bold is used by chart titles). */
  readonly files: readonly [regular: string, bold: string];
  /** Width of text in a CSS font shorthand such as "bold 17px DejaVu Sans", echarts' text measure. */
  measureText(text: string, cssFont?: string): { width: number };
}

const FACES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'] as const;
/** echarts' default text size, used when a font string names none. */
const DEFAULT_SIZE_PX = 12;

const SYSTEM_DIRS = [
  '/usr/share/fonts/truetype/dejavu', // Debian, Ubuntu
  '/usr/share/fonts/dejavu-sans-fonts', // Fedora
  '/usr/share/fonts/TTF', // Arch
];

function packageFontDir(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json');
    return join(dirname(manifest), 'ttf');
  } catch {
    return undefined;
  }
}

let cached: ChartFont | undefined;

export function chartFont(): ChartFont {
  if (cached !== undefined) return cached;
  const dirs = [packageFontDir(), ...SYSTEM_DIRS].filter((d): d is string => d !== undefined);
  for (const dir of dirs) {
    const files = [join(dir, FACES[0]), join(dir, FACES[1])] as const;
    if (files.every((f) => existsSync(f))) {
      cached = loadFont(files);
      return cached;
    }
  }
  throw new InstallError(
    `no chart font ${FACES[0]} found (looked in ${dirs.join(', ')})`,
    'Reinstall corefit so that its dependency dejavu-fonts-ttf is present, or install DejaVu fonts (Debian: apt-get install fonts-dejavu-core).',
  );
}

function loadFont(files: readonly [string, string]): ChartFont {
  const regular = readFontMetrics(files[0]);
  const bold = readFontMetrics(files[1]);
  return {
    family: CHART_FONT_FAMILY,
    files,
    measureText(text, cssFont = '') {
      const size = /(\d+(?:\.\d+)?)px/.exec(cssFont);
      const face = /\b(bold|bolder|[6-9]00)\b/.test(cssFont) ? bold : regular;
      return { width: face.width(text, size ? Number(size[1]) : DEFAULT_SIZE_PX) };
    },
  };
}
