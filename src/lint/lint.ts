/** Runs the lint rules on a spec file (`corefit lint`) or on the model about to train. */
import type { Output } from '../output.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { assertModelFits } from '../data/fit.js';
import { bceFloor } from '../data/floor.js';
import { CorefitError } from '../errors.js';
import { readSpecFile } from '../model/spec-file.js';
import type { ModelSpec } from '../model/spec.js';
import { formatFinding, formatFindings, lintExitCode, type Finding, type LintExitCode } from './findings.js';
import { lintSpec, type DataStats } from './rules.js';

export interface LintReport {
  readonly spec: ModelSpec;
  readonly findings: readonly Finding[];
  readonly exitCode: LintExitCode;
  /** formatFindings' human output. */
  readonly text: string;
  /** What the file left unsaid and corefit assumed (readSpecFile's notes). */
  readonly notes: readonly string[];
}

export interface LintOptions {
  /** The data the model would train on; the default MNIST when omitted, as for `corefit train`. */
  readonly dataDir?: string;
  /** Warnings make the exit code 1. */
  readonly strict: boolean;
}

/** The training inputs' range, as the spec's scaling leaves them. */
function inputStats(data: Dataset): DataStats {
  return { source: `the ${data.name} training images`, min: data.train.min, max: data.train.max };
}

/** Lints a spec or model.json file against its data: `corefit lint`. Throws SpecError/DataError for unreadable input. */
export async function runLint(specPath: string, options: LintOptions): Promise<LintReport> {
  const notes: string[] = [];
  const spec = await readSpecFile(specPath, (note) => notes.push(note));
  const data = await loadDataset({ dir: options.dataDir, normalize: spec.normalize });
  assertModelFits(spec, data);
  const findings = lintSpec(spec, { ...inputStats(data), bceFloor: bceFloor(spec, data.train) });
  return { spec, findings, exitCode: lintExitCode(findings, options.strict), text: formatFindings(findings, specPath), notes };
}

/**
 * The check `corefit train` runs first, on the data it is about to train on (loaded with
 * the spec's `normalize`): prints errors and warnings (notes are left to the trainer,
 * which reports the floor itself) and throws when there is an error.
 */
export function lintBeforeTraining(spec: ModelSpec, data: Dataset, out: Pick<Output, 'record' | 'warn'>): void {
  assertModelFits(spec, data);
  const findings = lintSpec(spec, inputStats(data)).filter((f) => f.severity !== 'info');
  for (const f of findings) {
    out.record({ type: 'lint', ...f });
    out.warn(formatFinding(f));
  }
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw new CorefitError(
      'LINT',
      `model "${spec.name}" has ${errors.length} lint error${errors.length === 1 ? '' : 's'} (${errors.map((f) => f.id).join(', ')}); training did not start`,
      'Fix the model spec as shown above, or pass --no-lint to train anyway.',
    );
  }
}
