/** Reading a line chart's PNG back: where its x axis lies and how high a series' points stand above it. */
import type { PNG } from 'pngjs';

/** Rows above this hold the title and the legend (chart.ts: the grid starts at 70). */
const PLOT_TOP = 70;
/** chart.ts draws the axes in #555 and the markers 7 px wide. */
const AXIS_GREY = 0x55;
const MARKER_RADIUS = 3.5;

/** The row of the x axis: the plot row with the most axis-grey pixels. */
export function xAxisRow(img: PNG): number {
  let best = { y: -1, count: 0 };
  for (let y = PLOT_TOP; y < img.height; y++) {
    let count = 0;
    for (let x = 0; x < img.width; x++) {
      const i = 4 * (y * img.width + x);
      if ([0, 1, 2].every((c) => Math.abs(img.data[i + c] - AXIS_GREY) <= 4)) count++;
    }
    if (count > best.count) best = { y, count };
  }
  return best.y;
}

/**
 * The heights above the x axis (in pixels) of the centres of the lowest and the highest
 * marker of a series drawn in `hex`.
 */
export function markerHeights(img: PNG, hex: string): { low: number; high: number } {
  const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  let top = Infinity;
  let bottom = -Infinity;
  for (let y = PLOT_TOP; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = 4 * (y * img.width + x);
      if (rgb.every((v, c) => Math.abs(img.data[i + c] - v) <= 12)) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
  }
  const axis = xAxisRow(img);
  return { low: axis - (bottom - MARKER_RADIUS), high: axis - (top + MARKER_RADIUS) };
}

/**
 * The plot row with the most pixels of `hex` drawn over white at any opacity above 0.3 (thin
 * lines are antialiased over two rows), with the first and last such pixel: a reference line.
 */
export function lineRow(img: PNG, hex: string): { count: number; left: number; right: number } {
  const rgb = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const tinted = (i: number): boolean => {
    const alpha = (255 - img.data[i]) / (255 - rgb[0]);
    return alpha > 0.3 && rgb.every((c, k) => Math.abs(img.data[i + k] - (alpha * c + (1 - alpha) * 255)) <= 6);
  };
  let best = { count: 0, left: 0, right: 0 };
  for (let y = PLOT_TOP; y < img.height; y++) {
    const xs = Array.from({ length: img.width }, (_, x) => x).filter((x) => tinted(4 * (y * img.width + x)));
    if (xs.length > best.count) best = { count: xs.length, left: xs[0], right: xs[xs.length - 1] };
  }
  return best;
}
