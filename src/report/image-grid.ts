/**
 * The reconstruction picture: a grid of greyscale images, originals in the top block
 * of rows and their reconstructions in the block below, each reconstruction in the
 * same column and row-within-block as its original.
 *
 * Geometry (all in pixels; s = scale, g = GAP):
 *   columns = min(count, maxColumns), blockRows = ceil(count / columns)
 *   tile i is in column i % columns and row floor(i / columns) of its block
 *   tile size = width·s × height·s; tiles are g apart and g from the edges
 *   the reconstruction block starts BLOCK_GAP below the last row of originals
 *   labelled: a TITLE_BAND on top, and a LABEL_BAND above each block naming it
 *   pixel (px, py) of image i is drawn as the s × s square at tileOrigin + (px·s, py·s)
 * digitGridLayout() computes these numbers; tests use it to find each tile.
 */
import { PNG } from 'pngjs';
import { svgToPng } from './chart.js';
import { chartFont } from './font.js';

export const GAP = 2;
/** Extra space between the two blocks, so originals and reconstructions read as two groups. */
export const BLOCK_GAP = 8;
/** Grey of the gaps: distinct from both the black background and white strokes of digits. */
const GAP_GREY = 110;
/** Heights of the title and of each block's label, when the grid is labelled. */
export const TITLE_BAND = 30;
export const LABEL_BAND = 20;

/** The words a labelled grid shows: its title, and what each block holds. */
export interface DigitGridLabels {
  readonly title: string;
  readonly original: string;
  readonly reconstruction: string;
}

export interface DigitGridOptions {
  /** Image width and height in pixels; MNIST's 28 × 28 by default. */
  readonly width?: number;
  readonly height?: number;
  /** Each image pixel becomes a scale × scale square. Default 2. */
  readonly scale?: number;
  /** Most tiles in one row; default 10. */
  readonly maxColumns?: number;
  /** Leave room for a title and a label above each block (digitGridPng's `labels`). */
  readonly labelled?: boolean;
}

export interface DigitGridLayout {
  readonly columns: number;
  readonly blockRows: number;
  readonly scale: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** Top of the band that names a block, in a labelled grid. */
  labelTop(block: 'original' | 'reconstruction'): number;
  /** Top-left pixel of image `index`'s tile in the original or the reconstruction block. */
  tileOrigin(index: number, block: 'original' | 'reconstruction'): { x: number; y: number };
}

export function digitGridLayout(count: number, options: DigitGridOptions = {}): DigitGridLayout {
  const { width = 28, height = 28, scale = 2, maxColumns = 10, labelled = false } = options;
  for (const [name, v] of Object.entries({ count, width, height, scale, maxColumns })) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`digit grid: ${name} must be a positive whole number, got ${v}`);
  }
  const columns = Math.min(count, maxColumns);
  const blockRows = Math.ceil(count / columns);
  const tileWidth = width * scale;
  const tileHeight = height * scale;
  const blockHeight = blockRows * (tileHeight + GAP);
  const title = labelled ? TITLE_BAND : 0;
  const label = labelled ? LABEL_BAND : 0;
  return {
    columns,
    blockRows,
    scale,
    tileWidth,
    tileHeight,
    imageWidth: GAP + columns * (tileWidth + GAP),
    imageHeight: title + 2 * label + 2 * blockHeight + BLOCK_GAP,
    labelTop: (block) => (block === 'original' ? title : title + label + blockHeight + BLOCK_GAP),
    tileOrigin(index, block) {
      const blockTop = title + label + (block === 'original' ? GAP : blockHeight + BLOCK_GAP + label);
      return {
        x: GAP + (index % columns) * (tileWidth + GAP),
        y: blockTop + Math.floor(index / columns) * (tileHeight + GAP),
      };
    },
  };
}

/**
 * originals and reconstructions hold `count` images of width × height values in [0, 1]
 * (0 black, 1 white; values outside are clamped), row-major, one image after another.
 */
export function digitGridPng(
  originals: Float32Array,
  reconstructions: Float32Array,
  count: number,
  options: DigitGridOptions = {},
  labels?: DigitGridLabels,
): Buffer {
  if ((options.labelled === true) !== (labels !== undefined)) throw new RangeError('digit grid: a labelled grid needs labels, and labels need a labelled grid');
  const layout = digitGridLayout(count, options);
  const pixels = (layout.tileWidth / layout.scale) * (layout.tileHeight / layout.scale);
  for (const [name, a] of [
    ['originals', originals],
    ['reconstructions', reconstructions],
  ] as const) {
    if (a.length < count * pixels) {
      throw new RangeError(`digit grid: ${name} holds ${a.length} values, ${count} images need ${count * pixels}`);
    }
  }
  const png = labels === undefined ? new PNG({ width: layout.imageWidth, height: layout.imageHeight, colorType: 0 }) : PNG.sync.read(labelsPng(layout, labels));
  if (labels === undefined) fillGrey(png.data, 0, png.data.length / 4, GAP_GREY);
  else {
    // The blocks' grey backgrounds, below their labels; the title and labels stay on white.
    for (const block of ['original', 'reconstruction'] as const) {
      const top = layout.tileOrigin(0, block).y - GAP;
      for (let y = top; y < top + layout.blockRows * (layout.tileHeight + GAP) + GAP; y++) fillGrey(png.data, y * png.width, png.width, GAP_GREY);
    }
  }
  for (let i = 0; i < count; i++) {
    drawTile(png, layout, originals, i, layout.tileOrigin(i, 'original'));
    drawTile(png, layout, reconstructions, i, layout.tileOrigin(i, 'reconstruction'));
  }
  return PNG.sync.write(png, { colorType: 0 });
}

/** The title and block labels on white, drawn with the charts' font; the tiles are drawn over it pixel by pixel. */
function labelsPng(layout: DigitGridLayout, labels: DigitGridLabels): Buffer {
  const font = chartFont().family;
  const escape = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const text = (y: number, size: number, weight: string, t: string): string =>
    `<text x="${layout.imageWidth / 2}" y="${y}" font-family="${font}" font-size="${size}" font-weight="${weight}" fill="#111" text-anchor="middle" dominant-baseline="central">${escape(t)}</text>`;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.imageWidth}" height="${layout.imageHeight}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    text(TITLE_BAND / 2 + 2, 16, 'bold', labels.title),
    text(layout.labelTop('original') + LABEL_BAND / 2, 13, 'normal', labels.original),
    text(layout.labelTop('reconstruction') + LABEL_BAND / 2, 13, 'normal', labels.reconstruction),
    '</svg>',
  ].join('');
  return svgToPng(svg);
}

function drawTile(png: PNG, layout: DigitGridLayout, values: Float32Array, index: number, at: { x: number; y: number }): void {
  const { scale } = layout;
  const w = layout.tileWidth / scale;
  const h = layout.tileHeight / scale;
  const base = index * w * h;
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      const grey = Math.round(255 * Math.min(1, Math.max(0, values[base + py * w + px])));
      for (let dy = 0; dy < scale; dy++) {
        const row = (at.y + py * scale + dy) * png.width + at.x + px * scale;
        fillGrey(png.data, row, scale, grey);
      }
    }
  }
}

/** Sets `count` RGBA pixels from pixel `start` on to an opaque grey. */
function fillGrey(data: Buffer, start: number, count: number, grey: number): void {
  for (let p = start; p < start + count; p++) {
    data[4 * p] = grey;
    data[4 * p + 1] = grey;
    data[4 * p + 2] = grey;
    data[4 * p + 3] = 255;
  }
}
