/**
 * Every failure corefit can explain is a CorefitError: a message saying what went
 * wrong, a hint saying what to do next, and the exit code the CLI uses for it.
 */
export type ErrorCode = 'USAGE' | 'DATA' | 'SPEC' | 'LINT' | 'ENGINE' | 'INSTALL' | 'CHECKPOINT' | 'OUTPUT' | 'MEMORY' | 'WORKER' | 'COMM' | 'DIVERGED';

/** Exit codes, documented in `corefit --help` and the README. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  USAGE: 64,
  DATA: 65,
  SPEC: 65,
  LINT: 2,
  CHECKPOINT: 66,
  OUTPUT: 66,
  MEMORY: 69,
  ENGINE: 70,
  INSTALL: 70,
  WORKER: 70,
  COMM: 70,
  DIVERGED: 75,
};

/**
 * The exit code of a run stopped by a signal: 128 + the signal's number, as shells report it.
 * SIGPIPE stands for stdout's reader going away (`corefit … | head`): Node ignores the
 * signal itself and reports EPIPE on the write (output.ts).
 */
export const INTERRUPTED: Readonly<Record<'SIGINT' | 'SIGTERM' | 'SIGPIPE', number>> = { SIGINT: 130, SIGTERM: 143, SIGPIPE: 141 };

export class CorefitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** Bad command-line arguments or API options. */
export class UsageError extends CorefitError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, hint ?? 'Run the command with --help to see the accepted options.');
  }
}

/** A data file that is missing, unreadable or malformed. */
export class DataError extends CorefitError {
  readonly file: string;
  constructor(file: string, problem: string, hint?: string) {
    super('DATA', `${file}: ${problem}`, hint);
    this.file = file;
  }
}

/** A model spec or model.json that cannot describe a trainable model. */
export class SpecError extends CorefitError {
  constructor(message: string, hint?: string) {
    super('SPEC', message, hint);
  }
}

/** The base of an error class that is its code, a message, a hint and a cause. */
function withCode(code: ErrorCode) {
  return class extends CorefitError {
    constructor(message: string, hint?: string, options?: { cause?: unknown }) {
      super(code, message, hint, options);
    }
  };
}

/** An engine that cannot be built or was called wrongly. */
export class EngineError extends withCode('ENGINE') {}

/** A part of corefit's installation that is missing or unusable (the chart font). */
export class InstallError extends withCode('INSTALL') {}

/** Output files (pictures, reports) that could not be written: disk full, permissions. */
export class OutputError extends withCode('OUTPUT') {}

/** A checkpoint directory that is missing, corrupt, or does not fit the run. */
export class CheckpointError extends withCode('CHECKPOINT') {}

/** A run that needs more memory than the machine has free. */
export class MemoryError extends CorefitError {
  constructor(message: string, hint: string) {
    super('MEMORY', message, hint);
  }
}

/** A worker thread that threw, exited or ran out of memory. */
export class WorkerError extends CorefitError {
  readonly worker: number | undefined;
  readonly step: number | undefined;
  /** `at` names the worker and step of a training step, or what the pool was doing otherwise. */
  constructor(cause: string, at: { worker: number; step: number } | { during: string }, options?: { cause?: unknown }) {
    super(
      'WORKER',
      'during' in at ? `a worker failed during ${at.during}: ${cause}` : `worker ${at.worker} failed at step ${at.step}: ${cause}`,
      'The last complete checkpoint (if --out was given) is intact; fix the cause and continue with --resume.',
      options,
    );
    this.worker = 'during' in at ? undefined : at.worker;
    this.step = 'during' in at ? undefined : at.step;
  }
}

/** An MPI rank that could not go on: another rank stopped answering, or its own workers hung. */
export class CommError extends CorefitError {
  constructor(
    at: { rank: number; host: string },
    readonly step: number,
    readonly problem: string,
  ) {
    super(
      'COMM',
      `rank ${at.rank} on ${at.host} stopped the job at step ${step}: ${problem}`,
      'The last complete checkpoint (if --out was given) is intact; fix the cause and continue with --resume (with any number of ranks).',
    );
  }
}

const DIVERGED_WORDS = { loss: 'the loss', gradient: 'the gradient', weight: 'a weight' } as const;

/** A loss, gradient or weight that became NaN or infinite. */
export class DivergenceError extends CorefitError {
  readonly step: number;
  /** `kept`: the last checkpoint written (or resumed from) before the divergence, if any. */
  constructor(step: number, what: keyof typeof DIVERGED_WORDS, kept?: { dir: string; step: number }) {
    super(
      'DIVERGED',
      `training diverged at step ${step}: ${DIVERGED_WORDS[what]} is not finite`,
      // A resumed run keeps the checkpoint's lr and clipping, so the fix is a new run.
      'Lower --lr, add --warmup-epochs, or set --clip-norm, in a new run; ' +
        (kept === undefined ? 'no checkpoint was written before it.' : `the last good checkpoint (step ${kept.step}) is kept in ${kept.dir}.`),
    );
    this.step = step;
  }
}
