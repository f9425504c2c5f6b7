/**
 * What every rank of an MPI job must share, by name, so that a rank started with other
 * data, another model, other options or another corefit is refused at start-up, naming
 * what differs, instead of training on quietly different numbers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedSplit } from '../parallel/buffers.js';
import type { Fingerprint } from '../parallel/mpi/session.js';
import type { ModelSpec } from '../model/spec.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { RunConfig, TrainOptions } from './options.js';

function sha256(...parts: ArrayBufferView[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return hash.digest('hex').slice(0, 16);
}

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
  run: { spec: ModelSpec; config: RunConfig; step: number; epochs: number; data: string; train: SharedSplit; test: SharedSplit },
): Fingerprint {
  const { spec, config, train, test } = run;
  return {
    'corefit version': VERSION,
    model: `${spec.name} (sha256 ${sha256(new TextEncoder().encode(JSON.stringify(spec)))})`,
    data: `${run.data} (sha256 of the rows used ${sha256(train.x, train.labels, test.x, test.labels)})`,
    ...Object.fromEntries(Object.entries(flatten(config)).map(([key, value]) => [`option ${key}`, value])),
    'starting step': String(run.step),
    epochs: String(run.epochs),
    checkpoints: `${opts.out === undefined ? 'none' : 'every epoch'}${opts.checkpointEvery === undefined ? '' : ` and every ${opts.checkpointEvery} steps`}`,
    'stop at test loss': String(opts.untilTestLoss ?? 'none'),
  };
}
