/**
 * Line and scatter charts as PNG files: echarts lays the chart out and renders it to
 * an SVG string server-side (no DOM, no canvas), and resvg rasterizes that SVG with
 * an explicitly loaded font, so the result is the same on every machine.
 */
import { Resvg } from '@resvg/resvg-js';
import type { LineSeriesOption, ScatterSeriesOption } from 'echarts/charts';
import type { GridComponentOption, LegendComponentOption, TitleComponentOption } from 'echarts/components';
import * as echarts from 'echarts/core';
import type { ComposeOption } from 'echarts/core';
// Each registers itself on import. Only these, not 'echarts/charts' and 'echarts/components',
// which load every chart and component: half a second of CPU in every run that draws pictures.
import 'echarts/lib/chart/line';
import 'echarts/lib/chart/scatter';
import 'echarts/lib/component/grid';
import 'echarts/lib/component/legend';
import 'echarts/lib/component/markLine';
import 'echarts/lib/component/title';
import { SVGRenderer } from 'echarts/renderers';
import { chartFont } from './font.js';

echarts.use([SVGRenderer]);

export type ChartOption = ComposeOption<LineSeriesOption | ScatterSeriesOption | GridComponentOption | LegendComponentOption | TitleComponentOption>;

/** Tableau 10: distinct hues that stay distinguishable for the ten digit classes. */
export const CATEGORY_COLORS: readonly string[] = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

export interface ChartFrame {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Pixels; default 800 × 500. */
  readonly width?: number;
  readonly height?: number;
}

export interface LineSeries {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Dashed, thin and without markers: for reference lines (ideal speedup, loss floor). */
  readonly dashed?: boolean;
  /** CSS colour; by default the series' place in CATEGORY_COLORS. */
  readonly color?: string;
}

export interface LineChartSpec extends ChartFrame {
  readonly series: readonly LineSeries[];
  /** Logarithmic x axis (base 10), e.g. for batch sizes. Every x must be > 0. */
  readonly logX?: boolean;
  /** Ticks only at whole numbers, e.g. for worker counts. */
  readonly integerX?: boolean;
  /** The x values label equal bands, one tick each (e.g. epochs): a single x sits in the middle, not at the edge of a wider axis. */
  readonly xCategories?: boolean;
  /** Dashed horizontal lines across the whole plot, e.g. a loss floor; the y axis reaches down or up to them. */
  readonly levels?: readonly Level[];
  /** The y axis starts at 0, so that the heights of points compare as ratios (throughput, speedup). */
  readonly yFromZero?: boolean;
}

export interface Level {
  readonly name: string;
  readonly y: number;
  readonly color: string;
}

export interface ScatterChartSpec extends ChartFrame {
  /** Point i is (x[i], y[i]). */
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  /** Point i belongs to category[i], an index into categoryNames (e.g. the digit label). */
  readonly category: ArrayLike<number>;
  readonly categoryNames: readonly string[];
}

const DEFAULT_WIDTH = 800;
const DEFAULT_HEIGHT = 500;
/** Markers on a line only while they do not crowd it. */
const MAX_MARKED_POINTS = 40;

export function renderLineChartPng(spec: LineChartSpec): Buffer {
  return renderPng(spec, lineChartOption(spec));
}

/** The echarts option of a line chart: what the PNG is drawn from, and what a report page hands echarts in the browser. */
export function lineChartOption(spec: LineChartSpec): ChartOption {
  if (spec.series.length === 0) throw new RangeError(`chart "${spec.title}": no series to draw`);
  for (const s of spec.series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        throw new RangeError(`chart "${spec.title}", series "${s.name}": point (${x}, ${y}) is not finite`);
      }
      if (spec.logX && x <= 0) {
        throw new RangeError(`chart "${spec.title}", series "${s.name}": x = ${x} cannot go on a log axis`);
      }
    }
  }
  const series: LineSeriesOption[] = spec.series.map((s, i) => ({
    type: 'line',
    name: s.name,
    data: s.points.map(([x, y]) => [spec.xCategories ? String(x) : x, y]),
    color: s.color ?? CATEGORY_COLORS[i % CATEGORY_COLORS.length],
    lineStyle: s.dashed ? { type: 'dashed', width: 1.5 } : { width: 2.5 },
    symbol: s.dashed ? 'none' : 'circle',
    showSymbol: s.points.length <= MAX_MARKED_POINTS,
    symbolSize: 7,
  }));
  const categories = [...new Set(spec.series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
  for (const level of spec.levels ?? []) {
    if (!Number.isFinite(level.y)) throw new RangeError(`chart "${spec.title}", level "${level.name}": y = ${level.y} is not finite`);
    series.push({
      type: 'line',
      name: level.name,
      // One unmarked point, so that the y axis reaches the level; the mark line runs from edge to edge of the plot.
      data: [[spec.xCategories ? String(categories[0]) : categories[0], level.y]],
      color: level.color,
      symbol: 'none',
      lineStyle: { type: 'dashed', width: 1.5 },
      markLine: {
        silent: true,
        symbol: 'none',
        label: { show: false },
        lineStyle: { type: 'dashed', width: 1.5, color: level.color },
        data: [{ yAxis: level.y }],
      },
    });
  }
  const xAxis: XAxis = spec.xCategories
    ? { type: 'category', data: categories.map(String), boundaryGap: true }
    : spec.logX
      ? { type: 'log' }
      : { type: 'value', scale: true, minInterval: spec.integerX ? 1 : 0 };
  return frameOption(spec, xAxis, series, { yMin: spec.yFromZero ? 0 : undefined });
}

export function renderScatterChartPng(spec: ScatterChartSpec): Buffer {
  const n = spec.x.length;
  if (spec.y.length !== n || spec.category.length !== n) {
    throw new RangeError(`chart "${spec.title}": x, y and category must have one entry per point (got ${n}, ${spec.y.length}, ${spec.category.length})`);
  }
  const groups: number[][][] = spec.categoryNames.map(() => []);
  for (let i = 0; i < n; i++) {
    const c = spec.category[i];
    if (!Number.isInteger(c) || c < 0 || c >= groups.length) {
      throw new RangeError(`chart "${spec.title}": point ${i} has category ${c}, not an index into categoryNames`);
    }
    if (Number.isFinite(spec.x[i]) && Number.isFinite(spec.y[i])) groups[c].push([spec.x[i], spec.y[i]]);
  }
  const series: ScatterSeriesOption[] = spec.categoryNames.map((name, c) => ({
    type: 'scatter',
    name,
    data: groups[c],
    color: CATEGORY_COLORS[c % CATEGORY_COLORS.length],
    symbolSize: n > 2000 ? 3 : 6,
    itemStyle: { opacity: 0.7 },
  }));
  // A vertical legend on the right keeps ten categories clear of the points.
  const legend: LegendComponentOption = { orient: 'vertical', right: 10, top: 'middle', itemGap: 8 };
  return renderPng(spec, frameOption(spec, { type: 'value', scale: true }, series, { legend, gridRight: 90 }));
}

/** scale: fit the axis to the data instead of always including 0. */
type XAxis = { type: 'log' } | { type: 'value'; scale: true; minInterval?: number } | { type: 'category'; data: string[]; boundaryGap: true };

interface FrameExtras {
  readonly legend?: LegendComponentOption;
  readonly gridRight?: number;
  /** The y axis' lower end; fitted to the data when undefined. */
  readonly yMin?: number;
}

/** Title on top, legend under it, the y label above its axis, the x label under its axis. */
function frameOption(frame: ChartFrame, xAxis: XAxis, series: (LineSeriesOption | ScatterSeriesOption)[], extras: FrameExtras): ChartOption {
  const axisName = { fontSize: 13, color: '#222' };
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: chartFont().family },
    title: { text: frame.title, left: 'center', top: 8, textStyle: { fontSize: 17, fontWeight: 'bold', color: '#111' } },
    legend: extras.legend ?? { top: 36, left: 'center' },
    // The grid shrinks until axis labels and names fit inside these margins.
    grid: { left: 16, right: extras.gridRight ?? 30, top: 70, bottom: 12, outerBoundsMode: 'same', outerBoundsContain: 'all' },
    xAxis: {
      ...xAxis,
      name: frame.xLabel,
      nameLocation: 'middle',
      nameGap: 32,
      nameTextStyle: axisName,
      splitLine: { lineStyle: { color: '#e6e6e6' } },
      // Axes at the plot's edges, not crossing at zero inside it.
      axisLine: { onZero: false, lineStyle: { color: '#555' } },
    },
    yAxis: {
      type: 'value',
      scale: true,
      min: extras.yMin,
      name: frame.yLabel,
      nameLocation: 'end',
      nameGap: 14,
      nameTextStyle: { ...axisName, align: 'left' },
      splitLine: { lineStyle: { color: '#e6e6e6' } },
      axisLine: { show: true, onZero: false, lineStyle: { color: '#555' } },
    },
    series,
  };
}

function renderPng(frame: ChartFrame, option: ChartOption): Buffer {
  const width = frame.width ?? DEFAULT_WIDTH;
  const height = frame.height ?? DEFAULT_HEIGHT;
  for (const [what, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 100) {
      throw new RangeError(`chart "${frame.title}": ${what} must be a whole number of pixels ≥ 100, got ${v}`);
    }
  }
  const font = chartFont();
  echarts.setPlatformAPI({ measureText: font.measureText });
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  let svg: string;
  try {
    chart.setOption(option);
    svg = chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
  return svgToPng(svg);
}

/** Rasterizes an SVG at its own size with the charts' font. */
export function svgToPng(svg: string): Buffer {
  const font = chartFont();
  const resvg = new Resvg(svg, {
    // No system fonts: the same explicit font everywhere, and faster.
    font: { fontFiles: [...font.files], loadSystemFonts: false, defaultFontFamily: font.family, sansSerifFamily: font.family },
    fitTo: { mode: 'original' },
  });
  return resvg.render().asPng();
}
