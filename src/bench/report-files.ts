/** The bench report as people read it: tables for the terminal and Markdown, PNG charts, one HTML page, raw JSON. */
import { CATEGORY_COLORS, renderLineChartPng, type LineChartSpec, type LineSeries } from '../report/chart.js';
import { htmlReport } from '../report/html-report.js';
import { escapeHtml, formatHtmlTable, formatMarkdownTable, formatTerminalTable, type Column } from '../report/table.js';
import { writeReportFiles } from '../report/write-files.js';
import type { BenchReport } from './bench.js';
import { machineSummary } from '../machine.js';
import type { Cell } from './summary.js';

const ms = (s: number): number => s * 1000;

function cellColumns(engineCeiling: number | undefined): Column<Cell>[] {
  return [
    { kind: 'number', header: 'workers', value: (c) => c.workers },
    { kind: 'number', header: 'samples/s', value: (c) => c.samplesPerSec },
    { kind: 'number', header: 'step ms', value: (c) => ms(c.stepSeconds), decimals: 3 },
    { kind: 'number', header: 'speedup', value: (c) => c.speedup, decimals: 2, suffix: '×' },
    { kind: 'number', header: 'independent ceiling', value: (c) => c.ceiling },
    { kind: 'number', header: 'ceiling speedup', value: (c) => c.ceilingSpeedup, decimals: 2, suffix: '×' },
    { kind: 'number', header: 'efficiency', value: (c) => 100 * c.efficiency, decimals: 1, suffix: ' %' },
    { kind: 'number', header: 'compute ms', value: (c) => ms(c.breakdown.compute), decimals: 3 },
    { kind: 'number', header: 'wait slowest ms', value: (c) => ms(c.breakdown.waitSlowest), decimals: 3 },
    { kind: 'number', header: 'reduce+Adam ms', value: (c) => ms(c.breakdown.reduceUpdate), decimals: 3 },
    { kind: 'number', header: 'coordination ms', value: (c) => ms(c.breakdown.coordination), decimals: 3 },
    {
      kind: 'number',
      header: '% of engine ceiling',
      value: (c) => (engineCeiling === undefined ? undefined : (100 * c.samplesPerSec) / (c.workers * engineCeiling)),
      decimals: 0,
      suffix: ' %',
    },
  ];
}

interface PeerRow {
  readonly who: string;
  readonly samplesPerSec: number;
  readonly corefit: number | undefined;
}

const peerColumns: Column<PeerRow>[] = [
  { kind: 'text', header: 'PyTorch', value: (r) => r.who },
  { kind: 'number', header: 'samples/s', value: (r) => r.samplesPerSec },
  { kind: 'number', header: 'corefit ×', value: (r) => (r.corefit === undefined ? undefined : r.corefit / r.samplesPerSec), decimals: 2, suffix: '×' },
];

interface Style {
  readonly table: <Row>(columns: readonly Column<Row>[], rows: readonly Row[]) => string;
  readonly heading: (text: string) => string;
  readonly text: (text: string) => string;
}

const INDEPENDENT_CEILING =
  'Independent ceiling: W single-worker trainers at once, each on its own copy of the model with the per-worker batch (forward, backward, a full Adam update, no communication), their samples/s summed, measured right after each repetition of the cell. Efficiency = samples/s over that ceiling (median of the paired ratios); it can pass 100 % because data parallelism splits Adam over the workers.';

const plain = (text: string): string => text;

function tables(r: BenchReport, { table: format, heading, text }: Style): string {
  const parts: string[] = [];
  for (const batchSize of r.options.batchSizes) {
    const cells = r.cells.filter((c) => c.batchSize === batchSize);
    const engineCeiling = r.ceiling.find((c) => c.batchSize === batchSize);
    parts.push(heading(`Global batch ${batchSize}`));
    parts.push(format(cellColumns(engineCeiling?.samplesPerSec), cells));
    if (engineCeiling !== undefined) {
      parts.push(
        text(
          `Engine ceiling, one core: ${Math.round(engineCeiling.samplesPerSec).toLocaleString('en-US')} samples/s (${engineCeiling.gflops.toFixed(0)} GFLOP/s: the engine's GEMM kernels alone, same shapes, per-worker batch ${batchSize}).`,
        ),
      );
    }
    if (r.peer !== null && 'cells' in r.peer) {
      const rows = r.peer.cells
        .filter((c) => c.batchSize === batchSize)
        .map((p) => ({
          who: p.mode === 'process' ? '1 process, 1 thread' : `DDP (gloo), ${p.workers} processes`,
          samplesPerSec: p.samplesPerSec,
          corefit: cells.find((c) => c.workers === p.workers)?.samplesPerSec,
        }));
      parts.push(format(peerColumns, rows));
    }
  }
  if (r.peer !== null && 'unavailable' in r.peer) parts.push(text(`PyTorch peer unavailable: ${r.peer.unavailable}`));
  if (r.timeToQuality.length > 0) {
    parts.push(heading(`Time to test loss ≤ ${r.options.target}`));
    parts.push(
      format<BenchReport['timeToQuality'][number]>(
        [
          { kind: 'number', header: 'batch', value: (t) => t.batchSize },
          { kind: 'number', header: 'workers', value: (t) => t.workers },
          { kind: 'text', header: 'reached', value: (t) => (t.reached ? 'yes' : `no (in ${t.epochs} epochs)`) },
          { kind: 'number', header: 'epochs', value: (t) => (t.reached ? t.epochs : undefined) },
          { kind: 'number', header: 'seconds', value: (t) => (t.reached ? t.seconds : undefined), decimals: 1 },
          { kind: 'number', header: 'last test loss', value: (t) => t.curve[t.curve.length - 1]?.testLoss, decimals: 4 },
          { kind: 'number', header: 'test floor', value: (t) => t.testFloor ?? undefined, decimals: 4 },
          {
            kind: 'number',
            header: 'excess',
            value: (t) => (t.testFloor === null ? undefined : t.curve[t.curve.length - 1].testLoss - t.testFloor),
            decimals: 4,
          },
        ],
        r.timeToQuality,
      ),
    );
    const pt = r.peer !== null && 'timeToQuality' in r.peer ? r.peer.timeToQuality : null;
    if (pt !== null) {
      const hit = pt.epochs.find((e) => e.testBce <= r.options.target);
      parts.push(
        text(
          `PyTorch, batch ${pt.batchSize}, 1 thread: ${hit === undefined ? `not reached in ${pt.epochs.length} epochs` : `reached in ${hit.epoch} epochs, ${hit.wallSeconds.toFixed(1)} s of training`} (test loss per epoch: ${pt.epochs.map((e) => e.testBce.toFixed(4)).join(', ')}).`,
        ),
      );
    }
  }
  return parts.join('\n\n');
}

export function terminalTables(r: BenchReport): string {
  return tables(r, { table: formatTerminalTable, heading: plain, text: plain });
}

/** What the tables are: the machine, the command, how cells were measured. */
function preamble(r: BenchReport, command: string, code: (text: string) => string): string[] {
  return [
    `Machine: ${machineSummary(r.machine)}.`,
    `Command: ${code(command)} (${r.created}). Each cell is the median of ${r.options.repeats} interleaved repetitions; warm-up steps are not counted. Times per step are averaged over the workers.`,
    INDEPENDENT_CEILING,
  ];
}

export function markdownReport(r: BenchReport, command: string): string {
  return (
    [
      `# corefit bench: ${r.model}`,
      ...preamble(r, command, (c) => `\`${c}\``),
      tables(r, { table: formatMarkdownTable, heading: (t) => `## ${t}`, text: plain }),
    ].join('\n\n') + '\n'
  );
}

/** bench.md's tables and the charts of the PNG files, interactive, in one self-contained page. */
export function htmlBenchReport(r: BenchReport, command: string): string {
  const paragraph = (t: string): string => `<p>${escapeHtml(t)}</p>`;
  const body = [
    `<h1>${escapeHtml(`corefit bench: ${r.model}`)}</h1>`,
    ...preamble(r, command, (c) => `“${c}”`).map(paragraph),
    tables(r, { table: formatHtmlTable, heading: (t) => `<h2>${escapeHtml(t)}</h2>`, text: paragraph }),
  ].join('\n');
  return htmlReport({ title: `corefit bench: ${r.model}`, body, charts: chartSpecs(r) });
}

/** The charts, by the name of their PNG file without .png. */
function chartSpecs(r: BenchReport): Record<string, LineChartSpec> {
  const workers = [...new Set(r.cells.map((c) => c.workers))].sort((a, b) => a - b);
  const speedup: LineSeries[] = r.options.batchSizes.flatMap((b, i) => {
    const cells = r.cells.filter((c) => c.batchSize === b);
    const color = CATEGORY_COLORS[i % CATEGORY_COLORS.length];
    const efficiency = cells
      .filter((c) => c.workers > 1)
      .map((c) => `${c.workers}w ${(100 * c.efficiency).toFixed(0)} %`)
      .join(', ');
    return [
      { name: `batch ${b}${efficiency === '' ? '' : ` (${efficiency} of ceiling)`}`, color, points: cells.map((c) => [c.workers, c.speedup] as const) },
      { name: `batch ${b} independent ceiling`, color, dashed: true, points: cells.map((c) => [c.workers, c.ceilingSpeedup] as const) },
    ];
  });
  speedup.push({ name: 'ideal', color: '#888888', points: workers.map((w) => [w, w] as const), dashed: true });
  const throughput: LineSeries[] = workers.map((w) => ({
    name: `${w} worker${w > 1 ? 's' : ''}`,
    points: r.cells.filter((c) => c.workers === w).map((c) => [c.batchSize, c.samplesPerSec] as const),
  }));
  if (r.peer !== null && 'cells' in r.peer) {
    for (const w of workers) {
      const pts = r.peer.cells.filter((c) => c.workers === w).map((c) => [c.batchSize, c.samplesPerSec] as const);
      if (pts.length > 0) throughput.push({ name: `PyTorch ${w === 1 ? '1 process' : `DDP ${w}`}`, points: pts, dashed: true });
    }
  }
  const specs: Record<string, LineChartSpec> = {
    // From 0, so that a point twice as high is twice the speed.
    speedup: {
      title: 'Speedup over 1 worker, and the independent ceiling',
      xLabel: 'workers',
      yLabel: 'speedup (×)',
      series: speedup,
      integerX: true,
      yFromZero: true,
    },
    throughput: { title: 'Training throughput', xLabel: 'global batch size', yLabel: 'samples/s', series: throughput, logX: true, yFromZero: true },
  };
  if (r.timeToQuality.length > 0) {
    const quality: LineSeries[] = r.timeToQuality.map((t) => ({
      name: `batch ${t.batchSize} (${t.workers}w)${t.reached ? '' : `: not reached in ${t.epochs} epoch${t.epochs === 1 ? '' : 's'}`}`,
      points: t.curve.map((p) => [p.seconds, p.testLoss] as const),
    }));
    const maxSeconds = Math.max(...r.timeToQuality.flatMap((t) => t.curve.map((p) => p.seconds)));
    quality.push({
      name: `target ${r.options.target}`,
      points: [
        [0, r.options.target],
        [maxSeconds, r.options.target],
      ],
      dashed: true,
    });
    const floor = r.timeToQuality[0].testFloor;
    if (floor !== null)
      quality.push({
        name: `BCE floor ${floor.toFixed(4)}`,
        points: [
          [0, floor],
          [maxSeconds, floor],
        ],
        dashed: true,
      });
    specs.quality = { title: 'Test loss over wall time', xLabel: 'seconds', yLabel: 'test loss', series: quality };
  }
  return specs;
}

/** Writes bench.json, bench.md, bench.html and the PNG charts; returns the paths written. */
export function writeBenchFiles(dir: string, r: BenchReport, command: string): Promise<string[]> {
  const pngs = Object.entries(chartSpecs(r)).map(([name, spec]) => [`${name}.png`, renderLineChartPng(spec)] as const);
  return writeReportFiles(dir, {
    'bench.json': JSON.stringify(r, null, 2) + '\n',
    'bench.md': markdownReport(r, command),
    'bench.html': htmlBenchReport(r, command),
    ...Object.fromEntries(pngs),
  });
}
