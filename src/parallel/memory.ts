/**
 * The memory a run needs before it allocates any of it, so that a model too large for
 * the machine is refused with the figures instead of failing somewhere in an allocation.
 */
import { freemem, totalmem } from 'node:os';
import { MemoryError } from '../errors.js';
import { paramLayout } from '../model/layout.js';
import type { ModelSpec } from '../model/spec.js';

export interface MemoryPlan {
  readonly shards: number;
  readonly workers: number;
  /** Rows of one engine call: the workspaces are sized for them. */
  readonly maxRows: number;
  /** Rows of the larger split that is shuffled or evaluated. */
  readonly rows: number;
}

export interface MemoryNeed {
  /** Parameters, Adam's two moments and one gradient slot per shard, all shared: 4 bytes × P × (3 + shards). */
  readonly shared: number;
  /** One engine's workspaces: the gathered rows, each layer's activations and two gradient buffers of the widest layer. */
  readonly perWorker: number;
  readonly total: number;
}

export function memoryNeeded(spec: ModelSpec, plan: MemoryPlan): MemoryNeed {
  const params = paramLayout(spec).size;
  const widest = Math.max(...spec.layers.map((l) => l.units));
  const units = spec.layers.reduce((sum, l) => sum + l.units, 0);
  // Row orders (the epoch's permutation and the evaluation's identity) are 4 bytes a row each.
  const shared = 4 * params * (3 + plan.shards) + 8 * plan.rows;
  const perWorker = 4 * plan.maxRows * (spec.inputSize + 1 + units + 2 * widest);
  return { shared, perWorker, total: shared + plan.workers * perWorker };
}

/** Memory this process may still take: what the system has available, within the cgroup's limit if one is set. */
export function availableMemory(): number {
  const limit = process.constrainedMemory();
  const free = freemem();
  return limit > 0 && limit < totalmem() ? Math.min(free, limit) : free;
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;

/** Refuses a plan that needs more memory than is available, naming both figures and what the need is made of. */
export function assertFitsInMemory(spec: ModelSpec, plan: MemoryPlan, available = availableMemory()): void {
  const need = memoryNeeded(spec, plan);
  if (need.total <= available) return;
  throw new MemoryError(
    `model "${spec.name}" needs about ${gib(need.total)} of memory, but ${gib(available)} is available: ` +
      `${gib(need.shared)} for its ${paramLayout(spec).size.toLocaleString('en-US')} parameters, Adam's moments and ${plan.shards} gradient slot${plan.shards === 1 ? '' : 's'}, ` +
      `and ${gib(plan.workers * need.perWorker)} for the workspaces of ${plan.workers} worker${plan.workers === 1 ? '' : 's'}`,
    'Make the layers narrower (memory grows with the product of neighbouring widths), use fewer --shards, --workers or a smaller --batch-size, or free memory.',
  );
}
