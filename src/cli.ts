#!/usr/bin/env node
/** The `corefit` command: train, eval, bench, lint, dashboard. */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, INTERRUPTED } from './errors.js';
import { reportError, type Runner } from './cli/run.js';
import { trainCommand } from './cli/commands/train.js';
import { evalCommand } from './cli/commands/eval.js';
import { benchCommand } from './cli/commands/bench.js';
import { lintCommand } from './cli/commands/lint.js';
import { dashboardCommand } from './cli/commands/dashboard.js';

const EXIT_HELP = `
Exit codes:
  0    success
  1    lint: warnings only, with --strict
  2    lint found errors (train refuses such a model; --no-lint skips the check)
  ${EXIT_CODES.USAGE}   bad command-line usage (unknown flag, bad value)
  ${EXIT_CODES.DATA}   bad input: data files or model spec
  ${EXIT_CODES.CHECKPOINT}   checkpoint missing, corrupt, of another architecture, or not writable; pictures or a report not writable
  ${EXIT_CODES.MEMORY}   the model needs more memory than is available
  ${EXIT_CODES.WORKER}   a worker, the engine or a part of the installation failed (the last checkpoint is intact)
  ${EXIT_CODES.DIVERGED}   training diverged: loss, gradient or a weight not finite (the last good checkpoint is kept)
  ${INTERRUPTED.SIGINT}  stopped by SIGINT (a checkpoint was written with --out)
  ${INTERRUPTED.SIGPIPE}  stdout was closed by its reader (train: a checkpoint was written with --out)
  ${INTERRUPTED.SIGTERM}  stopped by SIGTERM (a checkpoint was written with --out)`;

/** Runs a command body and exits with its code; errors are explained, not thrown. */
const run: Runner = async (action, json, debug, onError) => {
  let code: number;
  try {
    code = await action();
  } catch (err) {
    code = reportError(err, debug, json);
    await onError?.(code);
  }
  process.exitCode = code;
};

/**
 * --help and --version exit 0; any other commander complaint is a usage error, which
 * commander has printed on stderr and which --json also gets as its one JSON line.
 */
function exitOnCommanderError(err: CommanderError): never {
  const helpOrVersion = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
  if (!helpOrVersion && process.argv.includes('--json')) {
    const message = err.message.replace(/^error: /, '');
    process.stdout.write(JSON.stringify({ type: 'error', code: 'USAGE', message, hint: 'Run the command with --help to see the accepted options.' }) + '\n');
  }
  process.exit(helpOrVersion ? 0 : EXIT_CODES.USAGE);
}

/** Commander's own complaints (unknown flag, bad value) read like every other error of corefit. */
const errorOutput = { outputError: (text: string, write: (s: string) => void): void => write(`corefit: ${text}`) };

const program = new Command('corefit')
  .description('Train dense networks over every CPU core with worker threads, and measure how well that pays.')
  .version('0.1.0')
  .showHelpAfterError('(run corefit --help for usage)')
  .configureOutput(errorOutput)
  .addHelpText('after', EXIT_HELP)
  .exitOverride(exitOnCommanderError);

for (const command of [trainCommand(run), evalCommand(run), benchCommand(run), lintCommand(run), dashboardCommand(run)]) {
  command
    .showHelpAfterError(`(run corefit ${command.name()} --help for usage)`)
    .configureOutput(errorOutput)
    .addHelpText('after', EXIT_HELP)
    .exitOverride(exitOnCommanderError);
  program.addCommand(command);
}

await program.parseAsync(process.argv);
