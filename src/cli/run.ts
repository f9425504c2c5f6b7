/** How a command ends: its exit code, or its error explained the way a user can act on it. */
import { CorefitError } from '../errors.js';

/** Prints an error the way a user can act on it, and returns the exit code. */
export function reportError(err: unknown, debug: boolean, json: boolean): number {
  const known = err instanceof CorefitError;
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    process.stdout.write(JSON.stringify({ type: 'error', code: known ? err.code : 'INTERNAL', message, hint: known ? err.hint : undefined }) + '\n');
  }
  process.stderr.write(`corefit: error: ${message}\n`);
  if (known && err.hint !== undefined) process.stderr.write(`  ${err.hint}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(err.stack + '\n');
  else if (!known) process.stderr.write('  This is a bug in corefit; run again with --debug for the stack trace and report it.\n');
  return known ? err.exitCode : 70;
}

/**
 * Runs a command body, explains any error, and sets the exit code. `onError`, when given,
 * runs after an error was explained, with its exit code (an MPI rank ends the whole job there).
 */
export type Runner = (action: () => Promise<number>, json: boolean, debug: boolean, onError?: (code: number) => Promise<unknown> | undefined) => Promise<void>;
