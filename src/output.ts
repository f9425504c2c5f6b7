/** How commands speak: human text by default, one JSON object per line with --json. */

export interface Output {
  readonly json: boolean;
  /** A JSON object (with --json) or nothing. */
  record(obj: Record<string, unknown>): void;
  /** A line for people (without --json) or nothing. */
  say(line: string): void;
  /** A notice for people on stderr, in both modes. */
  warn(line: string): void;
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    record: (obj) => {
      if (json) process.stdout.write(JSON.stringify(obj) + '\n');
    },
    say: (line) => {
      if (!json) process.stdout.write(line + '\n');
    },
    warn: (line) => process.stderr.write(line + '\n'),
  };
}

export function fixed(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined ? '–' : x.toFixed(digits);
}

/** "1 epoch", "2 epochs". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function thousands(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}
