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

/** mpirun on loopback, as root and with more ranks than cores, of `corefit train --comm mpi` per program; killed (timedOut) after limitMs. */
export function startMpirun(programs: readonly Ranks[], limitMs: number): CliProcess {
  const args = ['--allow-run-as-root', '--oversubscribe'];
  programs.forEach((p, i) => {
    if (i > 0) args.push(':');
    args.push('-np', String(p.np));
    if (p.env !== undefined) args.push('env', ...Object.entries(p.env).map(([k, v]) => `${k}=${v}`));
    args.push(process.execPath, CLI, 'train', '--comm', 'mpi', ...p.args);
  });
  return startCommand('mpirun', args, {}, limitMs);
}
