/** What `corefit lint` reports, how it maps to an exit code, and how people read it. */

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Stable name of the rule, e.g. "softmax-reconstruction". */
  readonly id: string;
  readonly severity: Severity;
  /** One sentence: what is wrong. */
  readonly what: string;
  /** One sentence: why it matters. */
  readonly why: string;
  /** What to change. */
  readonly fix: string;
}

export type LintExitCode = 0 | 1 | 2;

/** 2 when there is an error; 1 when there are warnings and `strict`; 0 otherwise (info never counts). */
export function lintExitCode(findings: readonly Finding[], strict: boolean): LintExitCode {
  if (findings.some((f) => f.severity === 'error')) return 2;
  if (strict && findings.some((f) => f.severity === 'warning')) return 1;
  return 0;
}

const ORDER: readonly Severity[] = ['error', 'warning', 'info'];
const NOUN: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

function count(n: number, severity: Severity): string {
  return `${n} ${NOUN[severity]}${n === 1 ? '' : 's'}`;
}

/** One finding for people: a headline, then why and fix, indented. */
export function formatFinding(f: Finding): string {
  return `${NOUN[f.severity]} [${f.id}] ${f.what}\n  why: ${f.why}\n  fix: ${f.fix}`;
}

/** Human output: errors first, then warnings and notes, then a one-line summary. */
export function formatFindings(findings: readonly Finding[], source: string): string {
  const sorted = ORDER.flatMap((s) => findings.filter((f) => f.severity === s));
  const blocks = sorted.map(formatFinding);
  const summary =
    findings.length === 0 ? `${source}: no findings` : `${source}: ${ORDER.map((s) => count(findings.filter((f) => f.severity === s).length, s)).join(', ')}`;
  return [...blocks, summary].join('\n\n') + '\n';
}
