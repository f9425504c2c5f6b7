/** Runs the built CLI (dist/src/cli.js) as a user would, capturing its output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const CLI = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');

/** A line of a stack trace; corefit prints them only with --debug. */
export const STACK_FRAME = /^ {4}at /m;

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the process outlived its time limit and was killed: a hang. */
  readonly timedOut: boolean;
}

/** A CLI process running in the background, for tests that signal or kill it. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly done: Promise<CliRun>;
  /** The first JSON line of stdout that `accept` takes, or undefined once the process has exited without one. */
  line(accept: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined>;
}

/** Starts the CLI; a process still running after `limitMs` is killed, so that a hang fails its test without outliving it. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, limitMs = 100_000): CliProcess {
  return startCommand(process.execPath, [CLI, ...args], env, limitMs);
}

/** Starts `command` (the CLI, or a launcher such as mpirun that starts it) as startCli does. */
export function startCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, limitMs = 100_000): CliProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  let timedOut = false;
  const parsed: Array<Record<string, unknown>> = [];
  const waiting = new Set<() => void>();
  const wake = (): void => waiting.forEach((check) => check());
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    // Only whole lines are parsed: a chunk may end within one.
    const complete = stdout.lastIndexOf('\n') + 1;
    stdout += s;
    const fresh = stdout.slice(complete, stdout.lastIndexOf('\n') + 1);
    for (const l of fresh.split('\n')) if (l.startsWith('{')) parsed.push(JSON.parse(l) as Record<string, unknown>);
    wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, limitMs);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      exited = true;
      wake();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  const line = (accept: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> =>
    new Promise((resolve) => {
      const check = (): void => {
        const found = parsed.find(accept);
        if (found === undefined && !exited) return;
        waiting.delete(check);
        resolve(found);
      };
      waiting.add(check);
      check();
    });
  return { child, done, line };
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** The JSON objects a --json run printed, one per line. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
