/**
 * OpenBLAS as the engine benchmark's reference, where it is installed: builds
 * native/compare/openblas-step.cc (the native engine's step with cblas_sgemm in place of
 * corefit's kernels) with g++ and -lopenblas, and runs it. The engine never links OpenBLAS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

const NATIVE = join(PACKAGE_ROOT, 'native');
const SOURCES = ['compare/openblas-step.cc', 'model.cc', 'kernels.cc', 'gemm.cc', 'gemm_portable.cc'].map((f) => join(NATIVE, f));
/** The instruction-set files, each with its own flags, as binding.gyp compiles them. */
const ISA_SOURCES: ReadonlyArray<readonly [string, readonly string[]]> =
  process.arch === 'x64'
    ? [
        ['gemm_avx2.cc', ['-mavx2', '-mfma']],
        ['gemm_avx512.cc', ['-mavx512f', '-mfma']],
      ]
    : [];
const FLAGS = ['-O3', '-std=gnu++17', '-fopenmp-simd', '-fno-math-errno', '-fno-trapping-math', '-ffp-contract=off'];
const OUT_DIR = join(PACKAGE_ROOT, 'build', 'openblas-step');
const PROGRAM = join(OUT_DIR, 'openblas-step');

interface Flags {
  readonly includeDirs: readonly string[];
  readonly libraries: readonly string[];
}

/** OpenBLAS's compiler flags from pkg-config, else Debian/Ubuntu's libopenblas-dev paths. */
function findOpenblas(): Flags | undefined {
  try {
    const flags = (what: string): string[] =>
      execFileSync('pkg-config', [what, 'openblas'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\s+/)
        .filter(Boolean);
    return { includeDirs: flags('--cflags-only-I').map((f) => f.slice(2)), libraries: flags('--libs') };
  } catch {
    // no pkg-config, or it does not know openblas
  }
  const triplet = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch as string] ?? 'unknown';
  const includeDir = [`/usr/include/${triplet}/openblas-pthread`, '/usr/include/openblas', '/usr/local/include'].find((d) => existsSync(join(d, 'cblas.h')));
  const libDir = [`/usr/lib/${triplet}/openblas-pthread`, `/usr/lib/${triplet}`, '/usr/local/lib'].find((d) => existsSync(join(d, 'libopenblas.so')));
  return includeDir === undefined || libDir === undefined ? undefined : { includeDirs: [includeDir], libraries: [`-L${libDir}`, '-lopenblas'] };
}

/** The newest modification time of native/'s sources and headers. */
function sourcesChanged(): number {
  const files = [NATIVE, join(NATIVE, 'compare')].flatMap((d) =>
    readdirSync(d)
      .filter((f) => /\.(cc|h)$/.test(f))
      .map((f) => join(d, f)),
  );
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/** The comparison program, built when missing or older than its sources; or why it cannot be. */
export function buildOpenblasStep(): { program: string } | { reason: string } {
  const openblas = findOpenblas();
  if (openblas === undefined) return { reason: 'OpenBLAS is not installed (Debian/Ubuntu: apt-get install libopenblas-dev)' };
  if (existsSync(PROGRAM) && statSync(PROGRAM).mtimeMs > sourcesChanged()) return { program: PROGRAM };
  mkdirSync(OUT_DIR, { recursive: true });
  const include = openblas.includeDirs.map((d) => `-I${d}`);
  const compile = (source: string, extra: readonly string[]): string => {
    const object = join(OUT_DIR, `${source.replace(/[/.]/g, '_')}.o`);
    const run = spawnSync('g++', [...FLAGS, ...extra, ...include, '-c', join(NATIVE, source), '-o', object], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`g++ failed on native/${source}: ${run.error?.message ?? run.stderr}`);
    return object;
  };
  try {
    const objects = [...SOURCES.map((s) => compile(s.slice(NATIVE.length + 1), [])), ...ISA_SOURCES.map(([s, extra]) => compile(s, extra))];
    const link = spawnSync('g++', [...objects, '-o', PROGRAM, ...openblas.libraries, '-lm'], { encoding: 'utf8' });
    if (link.status !== 0) return { reason: `linking against OpenBLAS failed: ${link.stderr}` };
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
  return { program: PROGRAM };
}

export interface OpenblasStep {
  readonly config: string;
  readonly core: string;
  readonly batch: number;
  readonly stepSamplesPerSec: number;
  readonly gemmSamplesPerSec: number;
}

/**
 * One run of the program: the seed step at `batch` on the float32 rows in rowsFile, for
 * `seconds`. env: the environment it runs in (the benchmark unsets OpenBLAS's core and
 * cache overrides for its "best kernel" row, in that one command only).
 */
export function runOpenblasStep(
  program: string,
  rowsFile: string,
  batch: number,
  seconds: number,
  layers: readonly string[],
  env: NodeJS.ProcessEnv,
): OpenblasStep {
  const run = spawnSync(program, [rowsFile, String(batch), String(seconds), ...layers], { encoding: 'utf8', env });
  if (run.status !== 0) throw new Error(`${program} failed: ${run.error?.message ?? run.stderr}`);
  return JSON.parse(run.stdout) as OpenblasStep;
}
