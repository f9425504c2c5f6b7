/** How commands speak: human text by default, one JSON object per line with --json. */
import { INTERRUPTED } from './errors.js';

export interface Output {
  readonly json: boolean;
  /** A JSON object (with --json) or nothing. */
  record(obj: Record<string, unknown>): void;
  /** A line for people (without --json) or nothing. */
  say(line: string): void;
  /** A notice for people on stderr, in both modes. */
  warn(line: string): void;
}

/**
 * Output on stdout and stderr. When stdout's reader goes away (EPIPE: `corefit … | head`),
 * later lines for stdout are dropped and `onStdoutClosed` runs once; by default the process
 * exits as a shell expects of a closed pipe. A command with work to keep (train) stops
 * after the step in progress instead.
 */
export function makeOutput(json: boolean, onStdoutClosed: () => void = () => process.exit(INTERRUPTED.SIGPIPE)): Output {
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (stdoutClosed) return;
    stdoutClosed = true;
    onStdoutClosed();
  });
  const write = (text: string): void => {
    if (!stdoutClosed) process.stdout.write(text + '\n');
  };
  return {
    json,
    record: (obj) => {
      if (json) write(JSON.stringify(obj));
    },
    say: (line) => {
      if (!json) write(line);
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
