/** What the numbers were measured on, recorded with every report. */
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';
import { plural } from './output.js';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly engine: string;
  readonly backend: string;
  /** OpenBLAS's tuning variables, which change which kernels run. */
  readonly blasEnv: Readonly<Record<string, string>>;
}

/** One line for a report: CPU, cores, memory, OS, Node, engine and any OpenBLAS tuning. */
export function machineSummary(m: Machine): string {
  const blas = Object.entries(m.blasEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${m.cpu}, ${plural(m.cores, 'core')}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; engine ${m.engine} (${m.backend})${blas === '' ? '' : `; ${blas}`}`;
}

export function describeMachine(engine: string, backend: string): Machine {
  const blasEnv = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k.startsWith('OPENBLAS_') && v !== undefined)) as Record<string, string>;
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    engine,
    backend,
    blasEnv,
  };
}
