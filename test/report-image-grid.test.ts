import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { BLOCK_GAP, GAP, digitGridLayout, digitGridPng } from '../src/report/image-grid.js';

/** count images of w × h values k/255, each image's pattern different, so a swapped tile shows. */
function images(count: number, w: number, h: number, salt: number): Float32Array {
  const a = new Float32Array(count * w * h);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 37 + salt * 101 + Math.floor(i / (w * h)) * 53) % 256) / 255;
  return a;
}

function greyAt(img: PNG, x: number, y: number): number {
  const i = 4 * (y * img.width + x);
  expect(img.data[i]).toBe(img.data[i + 1]);
  expect(img.data[i]).toBe(img.data[i + 2]);
  return img.data[i];
}

describe('digitGridPng', () => {
  it('puts every original and reconstruction pixel where the layout says', () => {
    const [count, w, h, scale] = [13, 28, 28, 3];
    const originals = images(count, w, h, 1);
    const reconstructions = images(count, w, h, 2);
    const img = PNG.sync.read(digitGridPng(originals, reconstructions, count, { scale }));
    const layout = digitGridLayout(count, { scale });
    expect([img.width, img.height]).toEqual([layout.imageWidth, layout.imageHeight]);
    expect(layout.columns).toBe(10);
    expect(layout.blockRows).toBe(2);

    for (const [block, values] of [
      ['original', originals],
      ['reconstruction', reconstructions],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const at = layout.tileOrigin(i, block);
        for (let py = 0; py < h; py++) {
          for (let px = 0; px < w; px++) {
            const want = Math.round(values[i * w * h + py * w + px] * 255);
            // Both corners of the scale × scale square.
            expect(greyAt(img, at.x + px * scale, at.y + py * scale)).toBe(want);
            expect(greyAt(img, at.x + px * scale + scale - 1, at.y + py * scale + scale - 1)).toBe(want);
          }
        }
      }
    }
  });

  it('documents its geometry: gaps, the block gap, image size', () => {
    const layout = digitGridLayout(4, { width: 5, height: 4, scale: 2, maxColumns: 3 });
    expect(layout).toMatchObject({ columns: 3, blockRows: 2, tileWidth: 10, tileHeight: 8 });
    expect(layout.tileOrigin(0, 'original')).toEqual({ x: GAP, y: GAP });
    expect(layout.tileOrigin(4 - 1, 'original')).toEqual({ x: GAP, y: GAP + 8 + GAP });
    const lastOriginalBottom = layout.tileOrigin(3, 'original').y + 8;
    expect(layout.tileOrigin(0, 'reconstruction').y - lastOriginalBottom).toBe(BLOCK_GAP);
    expect(layout.tileOrigin(2, 'reconstruction').x).toBe(GAP + 2 * (10 + GAP));
    expect(layout.imageWidth).toBe(GAP + 3 * (10 + GAP));
    expect(layout.imageHeight).toBe(layout.tileOrigin(3, 'reconstruction').y + 8 + GAP);
  });

  it('clamps values outside [0, 1] and fills the gaps with grey', () => {
    const originals = Float32Array.from({ length: 4 }, (_, i) => [-1, 0, 1, 2][i]);
    const img = PNG.sync.read(digitGridPng(originals, originals, 1, { width: 2, height: 2, scale: 1 }));
    expect([greyAt(img, GAP, GAP), greyAt(img, GAP + 1, GAP), greyAt(img, GAP, GAP + 1), greyAt(img, GAP + 1, GAP + 1)]).toEqual([0, 0, 255, 255]);
    const gap = greyAt(img, 0, 0);
    expect(gap).toBeGreaterThan(0);
    expect(gap).toBeLessThan(255);
  });

  it('refuses too few values and bad sizes', () => {
    expect(() => digitGridPng(new Float32Array(784), new Float32Array(784), 2)).toThrow(/reconstructions|originals/);
    expect(() => digitGridLayout(0)).toThrow(RangeError);
    expect(() => digitGridLayout(3, { scale: 1.5 })).toThrow(RangeError);
  });
});
