/** How commands speak: human text by default, one JSON object per line with --json. */
import { CorefitError } from '../errors.js';

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

/** Prints an error the way a user can act on it, and returns the exit code. */
export function reportError(err: unknown, debug: boolean, json: boolean): number {
  const known = err instanceof CorefitError;
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    process.stdout.write(
      JSON.stringify({ type: 'error', code: known ? err.code : 'INTERNAL', message, hint: known ? err.hint : undefined }) + '\n',
    );
  }
  process.stderr.write(`corefit: error: ${message}\n`);
  if (known && err.hint !== undefined) process.stderr.write(`  ${err.hint}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(err.stack + '\n');
  else if (!known) process.stderr.write('  This is a bug in corefit; run again with --debug for the stack trace and report it.\n');
  return known ? err.exitCode : 70;
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

/** Runs a command body, explains any error, and sets the exit code. */
export type Runner = (action: () => Promise<number>, json: boolean, debug: boolean) => Promise<void>;
