/** `corefit train --comm mpi` under mpirun on this machine, for the suites that run MPI jobs. */
import { spawnSync } from 'node:child_process';
import { mpiAvailable } from '../../src/parallel/mpi/addon.js';
import { CLI, startCommand, type CliProcess } from './cli.js';

/** Why MPI jobs cannot run here, or undefined when they can. */
export const mpiMissing =
  spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status !== 0
    ? 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)'
    : !mpiAvailable()
      ? "corefit's MPI transport was not built (node native/mpi/build.mjs)"
      : undefined;

/** One program of an MPMD mpirun line: `np` ranks of `corefit train args`, with extra environment. */
export interface Ranks {
  readonly np: number;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs a rank (argv: node, the file to append to, corefit, its arguments) and appends how it
 * ended to that file, `rank exited: CODE` or `rank exited: SIGNAL`, then exits itself. A file,
 * not stderr: mpirun forwards no output while it sleeps between its signals. mpirun signals the
 * rank's whole process group, so this launcher ignores the signals that the rank handles; a
 * SIGKILL ends both, and leaves no line.
 */
const EXIT_REPORTER = `
for (const s of ['SIGINT', 'SIGTERM', 'SIGCONT']) process.on(s, () => {});
const [file, ...rankArgv] = process.argv.slice(1);
const rank = require('node:child_process').spawn(rankArgv[0], rankArgv.slice(1), { stdio: 'inherit' });
rank.on('exit', (code, signal) => { require('node:fs').appendFileSync(file, 'rank exited: ' + (code ?? signal) + '\\n'); process.exit(0); });`;

export interface Launch {
  /** Options of mpirun itself. */
  readonly mpirunArgs?: readonly string[];
  /** Start each rank under a launcher that appends how it ended to this file (EXIT_REPORTER). */
  readonly exitsTo?: string;
}

/** mpirun on loopback, as root and with more ranks than cores, of `corefit train --comm mpi` per program; killed (timedOut) after limitMs. */
export function startMpirun(programs: readonly Ranks[], limitMs: number, launch: Launch = {}): CliProcess {
  const args = ['--allow-run-as-root', '--oversubscribe', ...(launch.mpirunArgs ?? [])];
  programs.forEach((p, i) => {
    if (i > 0) args.push(':');
    args.push('-np', String(p.np));
    if (p.env !== undefined) args.push('env', ...Object.entries(p.env).map(([k, v]) => `${k}=${v}`));
    if (launch.exitsTo !== undefined) args.push(process.execPath, '-e', EXIT_REPORTER, launch.exitsTo);
    args.push(process.execPath, CLI, 'train', '--comm', 'mpi', ...p.args);
  });
  return startCommand('mpirun', args, {}, limitMs);
}
