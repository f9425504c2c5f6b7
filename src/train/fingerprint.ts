/**
 * What every rank of an MPI job must share, by name, so that a rank started with other
 * data, another model, other options or another corefit is refused at start-up, naming
 * what differs, instead of training on quietly different numbers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fingerprint } from '../parallel/mpi/session.js';
import type { DataIdentity } from '../checkpoint/run-state.js';
import type { ModelSpec } from '../model/spec.js';
import { PACKAGE_ROOT } from '../paths.js';
import { describeData, sha256Hex } from './data-identity.js';
import type { RunConfig, TrainOptions } from './options.js';

const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** { a: 1, b: { c: 2 } } as { a: '1', 'b.c': '2' }. */
function flatten(o: object, prefix = ''): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(o)) {
    if (typeof value === 'object' && value !== null) Object.assign(flat, flatten(value as object, `${prefix}${key}.`));
    else flat[`${prefix}${key}`] = String(value);
  }
  return flat;
}

export function runFingerprint(
  opts: TrainOptions,
  run: { spec: ModelSpec; config: RunConfig & { readonly data: DataIdentity }; step: number; epochs: number },
): Fingerprint {
  const { spec } = run;
  // The data is compared on its own line, by name and rows, not among the options.
  const { data, ...options } = run.config;
  return {
    'corefit version': VERSION,
    model: `${spec.name} (sha256 ${sha256Hex(new TextEncoder().encode(JSON.stringify(spec)))})`,
    data: describeData(data),
    ...Object.fromEntries(Object.entries(flatten(options)).map(([key, value]) => [`option ${key}`, value])),
    'starting step': String(run.step),
    epochs: String(run.epochs),
    checkpoints: `${opts.out === undefined ? 'none' : 'every epoch'}${opts.checkpointEvery === undefined ? '' : ` and every ${opts.checkpointEvery} steps`}`,
    'stop at test loss': String(opts.untilTestLoss ?? 'none'),
  };
}
