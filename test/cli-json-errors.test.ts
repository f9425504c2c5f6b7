/**
 * With --json every error is one JSON line on stdout, usage errors too: those that the
 * command-line parser finds (unknown flags and commands, bad values) as well as those
 * found after parsing.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { jsonLines, runCli } from './helpers/cli.js';

const cases: Array<[string, string[], string]> = [
  ['an unknown flag of train', ['train', '--bogus', '--json'], "unknown option '--bogus'"],
  ['a bad value of train', ['train', '--epochs', '0', '--json'], '--epochs must be a whole number ≥ 1, got 0'],
  ['a missing value', ['train', '--json', '--workers'], "option '--workers <n>' argument missing"],
  ['a bad value of bench', ['bench', '--batch-sizes', '10,x', '--json'], "option '--batch-sizes <list>' argument '10,x' is invalid"],
  ['a missing argument of lint', ['lint', '--json'], "missing required argument 'model'"],
  ['a missing option of eval', ['eval', '--json'], "required option '--checkpoint <dir>' not specified"],
  ['an unknown command', ['trian', '--json'], "unknown command 'trian'"],
  ['a usage error found after parsing', ['train', '--checkpoint-every', '5', '--json'], '--checkpoint-every needs --out'],
];

describe('--json prints usage errors as one JSON line', () => {
  it.each(cases)('%s', async (_, args, message) => {
    const run = await runCli(args);
    expect(run.code, run.stderr).toBe(EXIT_CODES.USAGE);
    const lines = jsonLines(run.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: 'error', code: 'USAGE' });
    expect(lines[0].message).toContain(message);
    expect(run.stderr).toContain(`corefit: error: ${message}`);
  });
});
