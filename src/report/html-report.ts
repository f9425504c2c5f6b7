/**
 * A report as one self-contained HTML file: its tables, and its charts drawn by
 * echarts in the browser, with echarts' browser build inlined. No CDN and no other
 * file: it opens from disk on a machine without network.
 */
import { readFileSync } from 'node:fs';
import { ECHARTS_BROWSER_BUILD } from '../paths.js';
import { lineChartOption, type LineChartSpec } from './chart.js';
import { escapeHtml } from './table.js';

export interface HtmlReport {
  readonly title: string;
  /** HTML (already escaped) of the tables and text, charts after it. */
  readonly body: string;
  /** Each chart, by an id for its element. */
  readonly charts: Readonly<Record<string, LineChartSpec>>;
}

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 20px auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: left; }
th.number, td.number { text-align: right; font-variant-numeric: tabular-nums; }
.chart { width: 100%; height: 480px; margin: 16px 0; }`;

/** Inline script text must not close its <script> element early. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

export function htmlReport(report: HtmlReport): string {
  const options = Object.fromEntries(Object.entries(report.charts).map(([id, spec]) => [id, { ...lineChartOption(spec), tooltip: { trigger: 'axis' } }]));
  const json = JSON.stringify(options).replace(/</g, '\\u003c');
  const init = `const options = ${json};
for (const [id, option] of Object.entries(options)) {
  const chart = echarts.init(document.getElementById(id));
  chart.setOption(option);
  window.addEventListener('resize', () => chart.resize());
}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
<script>${scriptSafe(readFileSync(ECHARTS_BROWSER_BUILD, 'utf8'))}</script>
</head>
<body>
${report.body}
${Object.keys(report.charts)
  .map((id) => `<div class="chart" id="${escapeHtml(id)}"></div>`)
  .join('\n')}
<script>${scriptSafe(init)}</script>
</body>
</html>
`;
}
