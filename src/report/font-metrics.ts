/**
 * Advance widths of the chart font, read with fontkit. Server-side echarts has no canvas
 * to measure text with and assumes Helvetica widths, which makes legends and labels in a
 * wider font overlap; with these metrics it lays text out for the font resvg really draws.
 */
import * as fontkit from 'fontkit';
import { InstallError } from '../errors.js';

export interface FontMetrics {
  /** Width in pixels of `text` set in this font at `sizePx` (no kerning). */
  width(text: string, sizePx: number): number;
}

export function readFontMetrics(file: string): FontMetrics {
  let font: fontkit.Font;
  try {
    const opened = fontkit.openSync(file);
    if (!('glyphForCodePoint' in opened)) throw new Error('it is a collection of fonts, not one font');
    font = opened;
  } catch (error) {
    throw new InstallError(
      `${file}: not a font corefit can read: ${(error as Error).message}`,
      'Reinstall corefit, or install DejaVu fonts (Debian: apt-get install fonts-dejavu-core).',
      { cause: error },
    );
  }
  const perChar = new Map<number, number>();
  const em = (codePoint: number): number => {
    let w = perChar.get(codePoint);
    if (w === undefined) {
      w = font.glyphForCodePoint(codePoint).advanceWidth / font.unitsPerEm;
      perChar.set(codePoint, w);
    }
    return w;
  };
  return {
    width(text, sizePx) {
      let total = 0;
      for (const ch of text) total += em(ch.codePointAt(0) ?? 0);
      return total * sizePx;
    },
  };
}
