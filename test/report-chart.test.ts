import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { CATEGORY_COLORS, renderLineChartPng, renderScatterChartPng } from '../src/report/chart.js';
import { chartFont } from '../src/report/font.js';
import { lineRow, markerHeights } from './helpers/chart-pixels.js';

function decode(png: Buffer): PNG {
  return PNG.sync.read(png);
}

/** Pixels in the band of rows [top, bottom) darker than `level` on every channel. */
function darkPixels(img: PNG, top: number, bottom: number, level = 100): number {
  let n = 0;
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = 4 * (y * img.width + x);
      if (img.data[i] < level && img.data[i + 1] < level && img.data[i + 2] < level) n++;
    }
  }
  return n;
}

/** Pixels within `tolerance` of a #rrggbb colour. */
function pixelsOfColor(img: PNG, hex: string, tolerance = 24): number {
  const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (rgb.every((v, c) => Math.abs(img.data[i + c] - v) <= tolerance)) n++;
  }
  return n;
}

const speedup = {
  title: 'Speedup vs workers',
  xLabel: 'workers',
  yLabel: 'speedup',
  integerX: true,
  series: [
    {
      name: 'ideal',
      points: [
        [1, 1],
        [2, 2],
      ] as [number, number][],
      dashed: true,
      color: '#888888',
    },
    {
      name: 'corefit',
      points: [
        [1, 1],
        [2, 1.8],
      ] as [number, number][],
      color: '#e15759',
    },
  ],
  width: 640,
  height: 400,
};

describe('renderLineChartPng', () => {
  it('starts the y axis at 0 when asked, so that heights compare as ratios', () => {
    const throughput = {
      ...speedup,
      integerX: false,
      series: [
        {
          name: 'rate',
          points: [
            [1, 60000],
            [2, 100000],
          ] as [number, number][],
          color: '#e15759',
        },
      ],
    };
    const fromZero = markerHeights(decode(renderLineChartPng({ ...throughput, yFromZero: true })), '#e15759');
    expect(fromZero.low / fromZero.high).toBeCloseTo(0.6, 1);
    // Fitted to the data, the lower point sits on the axis and looks like nothing at all.
    const fitted = markerHeights(decode(renderLineChartPng(throughput)), '#e15759');
    expect(fitted.low / fitted.high).toBeLessThan(0.1);
  });

  it('draws a level across the whole plot, and reaches it with the y axis', () => {
    const img = decode(renderLineChartPng({ ...speedup, series: [speedup.series[1]], levels: [{ name: 'floor', y: 0.2, color: '#59a14f' }] }));
    const line = lineRow(img, '#59a14f');
    expect(line.count).toBeGreaterThan(300);
    expect(line.right - line.left).toBeGreaterThan(0.8 * img.width);
  });

  it('makes a PNG of the requested size with a drawn line and text', () => {
    const img = decode(renderLineChartPng(speedup));
    expect([img.width, img.height]).toEqual([640, 400]);
    expect(pixelsOfColor(img, '#e15759')).toBeGreaterThan(200);
    // The title is text only: dark pixels there mean the explicit font was loaded.
    expect(darkPixels(img, 0, 30)).toBeGreaterThan(150);
  });

  it('draws the title it is given', () => {
    const a = decode(renderLineChartPng(speedup));
    const b = decode(renderLineChartPng({ ...speedup, title: 'Something else entirely' }));
    const titleBand = (img: PNG): Buffer => img.data.subarray(0, 4 * img.width * 30);
    expect(titleBand(a).equals(titleBand(b))).toBe(false);
    expect(a.data.subarray(4 * a.width * 80).equals(b.data.subarray(4 * b.width * 80))).toBe(true);
  });

  it('is deterministic', () => {
    expect(renderLineChartPng(speedup).equals(renderLineChartPng(speedup))).toBe(true);
  });

  it('draws on a log x axis', () => {
    const img = decode(
      renderLineChartPng({
        title: 'Throughput vs batch size',
        xLabel: 'batch size',
        yLabel: 'samples/s',
        logX: true,
        series: [
          {
            name: '1 worker',
            points: [
              [32, 30000],
              [100, 40000],
              [1000, 47000],
              [4096, 48000],
            ],
            color: '#4e79a7',
          },
        ],
      }),
    );
    expect([img.width, img.height]).toEqual([800, 500]);
    expect(pixelsOfColor(img, '#4e79a7')).toBeGreaterThan(200);
  });

  it('rejects what it cannot draw', () => {
    expect(() => renderLineChartPng({ ...speedup, series: [] })).toThrow(RangeError);
    expect(() => renderLineChartPng({ ...speedup, logX: true, series: [{ name: 'a', points: [[0, 1]] }] })).toThrow(/log axis/);
    expect(() => renderLineChartPng({ ...speedup, series: [{ name: 'a', points: [[1, NaN]] }] })).toThrow(/not finite/);
    expect(() => renderLineChartPng({ ...speedup, width: 10 })).toThrow(RangeError);
  });
});

describe('renderScatterChartPng', () => {
  it('colours every category and fits the requested size', () => {
    const n = 1000;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    const category = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      category[i] = i % 10;
      const angle = (category[i] / 10) * 2 * Math.PI;
      x[i] = Math.cos(angle) * 5 + ((i * 7) % 13) / 13;
      y[i] = Math.sin(angle) * 5 + ((i * 11) % 17) / 17;
    }
    const img = decode(
      renderScatterChartPng({
        title: 'Latent codes',
        xLabel: 'PC 1',
        yLabel: 'PC 2',
        x,
        y,
        category,
        categoryNames: [...'0123456789'],
        width: 700,
        height: 500,
      }),
    );
    expect([img.width, img.height]).toEqual([700, 500]);
    for (const colour of CATEGORY_COLORS) expect(pixelsOfColor(img, colour, 12)).toBeGreaterThan(20);
    expect(darkPixels(img, 0, 30)).toBeGreaterThan(100);
  });

  it('rejects categories outside the names and arrays of different lengths', () => {
    const base = { title: 't', xLabel: 'x', yLabel: 'y', x: [0, 1], y: [0, 1], categoryNames: ['a', 'b'] };
    expect(() => renderScatterChartPng({ ...base, category: [0, 2] })).toThrow(/category 2/);
    expect(() => renderScatterChartPng({ ...base, category: [0] })).toThrow(RangeError);
  });
});

describe('chart font', () => {
  it('measures text as wide as resvg draws it', () => {
    const font = chartFont();
    for (const [text, css, size] of [
      ['corefit native 0123456789', '16px DejaVu Sans', 16],
      ['Speedup vs workers (batch 100)', 'bold 17px DejaVu Sans', 17],
    ] as const) {
      const weight = css.startsWith('bold') ? 'bold' : 'normal';
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="60"><text x="0" y="40" font-family="${font.family}" font-weight="${weight}" font-size="${size}">${text}</text></svg>`;
      const drawn = new Resvg(svg, { font: { fontFiles: [...font.files], loadSystemFonts: false } }).getBBox();
      expect(drawn).toBeDefined();
      // The advance reaches past the ink's right edge by the last glyph's right bearing, under 0.15 em.
      const inkRight = drawn!.x + drawn!.width;
      const measured = font.measureText(text, css).width;
      expect(measured).toBeGreaterThan(inkRight - 0.5);
      expect(measured).toBeLessThan(inkRight + 0.15 * size);
    }
  });
});
