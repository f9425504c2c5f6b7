/** Classifier accuracy: the share of rows whose arg-max output is the label. */
import { outputSize, type ModelSpec } from '../model/spec.js';
import type { SharedSplit } from '../parallel/buffers.js';
import type { WorkerPool } from '../parallel/pool.js';

export async function testAccuracy(pool: WorkerPool, spec: ModelSpec, test: SharedSplit): Promise<number> {
  const units = outputSize(spec);
  const out = await pool.predict('test', test.rows);
  let correct = 0;
  for (let r = 0; r < test.rows; r++) {
    let best = 0;
    for (let u = 1; u < units; u++) if (out[r * units + u] > out[r * units + best]) best = u;
    if (best === test.labels[r]) correct++;
  }
  return correct / test.rows;
}
