/**
 * Rows as a table, for the terminal and for Markdown reports, from one column
 * description: text columns are left-aligned, number columns right-aligned with a
 * fixed number of decimals and thousands separators, so digits line up.
 */

export interface TextColumn<Row> {
  readonly kind: 'text';
  readonly header: string;
  readonly value: (row: Row) => string;
}

export interface NumberColumn<Row> {
  readonly kind: 'number';
  readonly header: string;
  /** undefined or a non-finite value shows as MISSING. */
  readonly value: (row: Row) => number | undefined;
  /** Decimals shown; default 0. */
  readonly decimals?: number;
  /** Appended to every value, e.g. '×' or ' %'. */
  readonly suffix?: string;
}

export type Column<Row> = TextColumn<Row> | NumberColumn<Row>;

export const MISSING = '–';

/**
 * Plain text: a header line, a rule of '─', then one line per row; columns are two
 * spaces apart and lines carry no trailing spaces.
 */
export function formatTerminalTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const { cells, widths } = layout(columns, rows);
  const line = (texts: readonly string[]): string =>
    texts
      .map((t, c) => pad(t, widths[c], columns[c].kind))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [line(columns.map((c) => c.header)), rule, ...cells.map(line)].join('\n');
}

/** GitHub-flavoured Markdown, with number columns marked right-aligned and the source padded to line up too. */
export function formatMarkdownTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const escape = (t: string): string => t.replace(/\|/g, '\\|');
  const { cells, widths } = layout(columns, rows, escape);
  const line = (texts: readonly string[]): string => `| ${texts.map((t, c) => pad(t, widths[c], columns[c].kind)).join(' | ')} |`;
  // The delimiter row needs at least three characters per column.
  const delimiter = widths.map((w, c) => {
    const dashes = '-'.repeat(Math.max(w, 3) - 1);
    return columns[c].kind === 'number' ? `${dashes}:` : `${dashes}-`;
  });
  return [line(columns.map((c) => escape(c.header))), `| ${delimiter.join(' | ')} |`, ...cells.map(line)].join('\n');
}

/** An HTML table (for a report page), number cells right-aligned; every text is escaped. */
export function formatHtmlTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cell = (tag: 'th' | 'td', text: string, c: number): string =>
    `<${tag}${columns[c].kind === 'number' ? ' class="number"' : ''}>${escapeHtml(text)}</${tag}>`;
  const line = (tag: 'th' | 'td', texts: readonly string[]): string => `<tr>${texts.map((t, c) => cell(tag, t, c)).join('')}</tr>`;
  const { cells } = layout(columns, rows);
  return `<table>\n<thead>${line(
    'th',
    columns.map((c) => c.header),
  )}</thead>\n<tbody>\n${cells.map((r) => line('td', r)).join('\n')}\n</tbody>\n</table>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function layout<Row>(columns: readonly Column<Row>[], rows: readonly Row[], escape: (t: string) => string = (t) => t): { cells: string[][]; widths: number[] } {
  const cells = rows.map((row) => columns.map((c) => escape(cellText(c, row))));
  const widths = columns.map((c, i) => Math.max(Math.max(escape(c.header).length, 3), ...cells.map((r) => r[i].length)));
  return { cells, widths };
}

function cellText<Row>(column: Column<Row>, row: Row): string {
  if (column.kind === 'text') return column.value(row);
  const v = column.value(row);
  if (v === undefined || !Number.isFinite(v)) return MISSING;
  const decimals = column.decimals ?? 0;
  const text = v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return text + (column.suffix ?? '');
}

function pad(text: string, width: number, kind: Column<unknown>['kind']): string {
  return kind === 'number' ? text.padStart(width) : text.padEnd(width);
}
