/**
 * Advance widths read from a TrueType file (tables head, hhea, hmtx and a format-4
 * cmap). Server-side echarts has no canvas to measure text with and assumes Helvetica
 * widths, which makes legends and labels in a wider font overlap; with these metrics
 * it lays text out for the font resvg really draws.
 */
import { readFileSync } from 'node:fs';
import { InstallError } from '../errors.js';

export interface FontMetrics {
  /** Width in pixels of `text` set in this font at `sizePx` (no kerning). */
  width(text: string, sizePx: number): number;
}

export function readFontMetrics(file: string): FontMetrics {
  const buf = readFileSync(file);
  const fail = (problem: string): never => {
    throw new InstallError(`${file}: not a TrueType font this reader understands: ${problem}`, 'Reinstall corefit, or install DejaVu fonts (Debian: apt-get install fonts-dejavu-core).');
  };
  const tables = new Map<string, number>();
  if (buf.length < 12) fail('too short');
  const numTables = buf.readUInt16BE(4);
  for (let i = 0; i < numTables; i++) {
    const record = 12 + 16 * i;
    tables.set(buf.toString('latin1', record, record + 4), buf.readUInt32BE(record + 8));
  }
  const table = (tag: string): number => tables.get(tag) ?? fail(`no ${tag} table`);

  const unitsPerEm = buf.readUInt16BE(table('head') + 18);
  const numberOfHMetrics = buf.readUInt16BE(table('hhea') + 34);
  const hmtx = table('hmtx');
  // Glyphs past numberOfHMetrics share the last advance (monospaced tails).
  const advanceOf = (glyph: number): number => buf.readUInt16BE(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));
  const glyphOf = cmapFormat4(buf, table('cmap'), fail);

  const perChar = new Map<number, number>();
  const em = (codePoint: number): number => {
    let w = perChar.get(codePoint);
    if (w === undefined) {
      w = advanceOf(glyphOf(codePoint)) / unitsPerEm;
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

/** The Unicode BMP subtable (platform 3 encoding 1, or platform 0) as code point → glyph id. */
function cmapFormat4(buf: Buffer, cmap: number, fail: (problem: string) => never): (codePoint: number) => number {
  const count = buf.readUInt16BE(cmap + 2);
  let sub = -1;
  for (let i = 0; i < count && sub < 0; i++) {
    const platform = buf.readUInt16BE(cmap + 4 + 8 * i);
    const encoding = buf.readUInt16BE(cmap + 6 + 8 * i);
    const offset = cmap + buf.readUInt32BE(cmap + 8 + 8 * i);
    if ((platform === 0 || (platform === 3 && encoding === 1)) && buf.readUInt16BE(offset) === 4) sub = offset;
  }
  if (sub < 0) return fail('no format-4 Unicode cmap');
  const segCount = buf.readUInt16BE(sub + 6) / 2;
  const endCodes = sub + 14;
  const startCodes = endCodes + 2 * segCount + 2;
  const idDeltas = startCodes + 2 * segCount;
  const idRangeOffsets = idDeltas + 2 * segCount;
  return (codePoint) => {
    if (codePoint > 0xffff) return 0;
    for (let s = 0; s < segCount; s++) {
      if (buf.readUInt16BE(endCodes + 2 * s) < codePoint) continue;
      const start = buf.readUInt16BE(startCodes + 2 * s);
      if (start > codePoint) return 0;
      const delta = buf.readUInt16BE(idDeltas + 2 * s);
      const rangeOffsetAt = idRangeOffsets + 2 * s;
      const rangeOffset = buf.readUInt16BE(rangeOffsetAt);
      if (rangeOffset === 0) return (codePoint + delta) & 0xffff;
      const glyph = buf.readUInt16BE(rangeOffsetAt + rangeOffset + 2 * (codePoint - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
}
