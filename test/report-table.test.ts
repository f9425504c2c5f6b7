import { describe, expect, it } from 'vitest';
import { type Column, MISSING, formatMarkdownTable, formatTerminalTable } from '../src/report/table.js';

interface Cell {
  engine: string;
  workers: number;
  samplesPerSec: number;
  speedup?: number;
}

const columns: Column<Cell>[] = [
  { kind: 'text', header: 'engine', value: (r) => r.engine },
  { kind: 'number', header: 'workers', value: (r) => r.workers },
  { kind: 'number', header: 'samples/s', value: (r) => r.samplesPerSec },
  { kind: 'number', header: 'speedup', value: (r) => r.speedup, decimals: 2, suffix: '×' },
];

const rows: Cell[] = [
  { engine: 'native', workers: 1, samplesPerSec: 45210.4, speedup: 1 },
  { engine: 'native', workers: 2, samplesPerSec: 83000, speedup: 1.8358 },
  { engine: 'pytorch | ddp', workers: 2, samplesPerSec: 12345.6 },
];

describe('formatTerminalTable', () => {
  it('left-aligns text, right-aligns numbers and formats them', () => {
    expect(formatTerminalTable(columns, rows)).toBe(
      [
        'engine         workers  samples/s  speedup',
        '─────────────  ───────  ─────────  ───────',
        'native               1     45,210    1.00×',
        'native               2     83,000    1.84×',
        `pytorch | ddp        2     12,346        ${MISSING}`,
      ].join('\n'),
    );
  });

  it('lines every number column up on its right edge', () => {
    const lines = formatTerminalTable(columns, rows).split('\n');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

describe('formatMarkdownTable', () => {
  it('marks number columns right-aligned and escapes pipes', () => {
    expect(formatMarkdownTable(columns, rows)).toBe(
      [
        '| engine         | workers | samples/s | speedup |',
        '| -------------- | ------: | --------: | ------: |',
        '| native         |       1 |    45,210 |   1.00× |',
        '| native         |       2 |    83,000 |   1.84× |',
        `| pytorch \\| ddp |       2 |    12,346 |       ${MISSING} |`,
      ].join('\n'),
    );
  });

  it('keeps a valid delimiter row for narrow columns and no rows', () => {
    const narrow: Column<number>[] = [{ kind: 'number', header: 'n', value: (r) => r }];
    expect(formatMarkdownTable(narrow, [])).toBe('|   n |\n| --: |');
  });
});
