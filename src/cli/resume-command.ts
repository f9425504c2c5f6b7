/** The command line that continues an interrupted `corefit train`, for the user to copy. */

/** The flags a checkpoint does not store, so that continuing must repeat them as they were given. */
export interface RepeatedFlags {
  readonly epochs?: number;
  readonly workers?: number;
  readonly data?: string;
  readonly checkpointEvery?: number;
  readonly engine?: string;
}

/** A word the shell passes on as it is: quoted when it holds anything else. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `corefit train --resume DIR --out DIR` and the repeated flags that were given. */
export function resumeCommand(flags: RepeatedFlags, dir: string): string {
  const repeated: Array<[string, string | number | undefined]> = [
    ['--epochs', flags.epochs],
    ['--workers', flags.workers],
    ['--data', flags.data],
    ['--checkpoint-every', flags.checkpointEvery],
    ['--engine', flags.engine],
  ];
  const given = repeated.filter(([, value]) => value !== undefined).map(([flag, value]) => `${flag} ${shellWord(String(value))}`);
  return ['corefit train --resume', shellWord(dir), '--out', shellWord(dir), ...given].join(' ');
}
