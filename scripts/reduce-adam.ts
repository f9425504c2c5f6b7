/**
 * The update of one 2-worker step of the seed model, on one thread, block by block as
 * src/parallel/collective.ts runs it: the native reduceAdam (the slots' sum and Adam in one
 * pass) over each chunk of a block. The slower block sets the pace of the step: the
 * other worker waits for it at the barrier.
 *
 *   npm run build && node dist/scripts/reduce-adam.js [--steps 1500] [--rounds 300]
 *
 * The cost depends on the training state, so the model is first trained for --steps steps
 * of batch 100: from about step 800 on, m of weights whose gradient stays 0 (pixels that
 * are always 0, dead units) would decay into subnormal floats, on which a division is ~3×
 * slower on AMD Zen. The kernels store such moments as 0 (optim/adam.ts), and the first
 * line printed counts the subnormal m left. Those weights cluster in the first layer, so
 * the block layout of src/parallel/shards.ts (blockBounds: one stretch per block) is timed
 * beside blocks interleaved from 4 stretches each across the vector, which balanced the
 * blocks when subnormals were kept. Each measurement restores the same gradients, params,
 * m and v first; layouts and blocks are interleaved and the median of --rounds is shown.
 * One thread leaves out what the other worker's caches add: `corefit bench` times the
 * whole step.
 */
import { parseArgs } from 'node:util';
import { median } from '../src/median.js';
import { loadDataset } from '../src/data/dataset.js';
import { createNativeEngine, nativeUpdateKernels } from '../src/engine/native.js';
import { adamScalars, type AdamScalars } from '../src/optim/adam.js';
import { glorotUniformInit } from '../src/model/init.js';
import { paramLayout } from '../src/model/layout.js';
import { DEFAULT_SPEC } from '../src/model/spec.js';
import { blockBounds, shardBounds } from '../src/parallel/shards.js';
import { formatTerminalTable, type Column } from '../src/report/table.js';
import { Rng } from '../src/rng.js';

const BATCH = 100;
const SHARDS = 2;

interface Row {
  readonly layout: string;
  readonly block: number;
  readonly micros: number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '1500' }, rounds: { type: 'string', default: '300' } } });
  const steps = Number(values.steps);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a whole number ≥ 1, got ${values.steps}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1, got ${values.rounds}`);

  const spec = DEFAULT_SPEC;
  const size = paramLayout(spec).size;
  const { train } = await loadDataset({ normalize: spec.normalize });
  const engine = createNativeEngine(spec, BATCH);
  const kernels = nativeUpdateKernels();
  const rng = Rng.fromSeed(1);
  const [params, m, v] = Array.from({ length: 3 }, () => new Float32Array(size));
  const slots = new Float32Array(SHARDS * size);
  glorotUniformInit(paramLayout(spec), params, rng);
  const order = Int32Array.from({ length: train.rows }, (_, i) => i);
  rng.shuffle(order);
  const shardGradients = (k: number): void => {
    const first = (k * BATCH) % (train.rows - BATCH);
    const batch = order.subarray(first, first + BATCH);
    for (let s = 0; s < SHARDS; s++) {
      const [lo, hi] = shardBounds(BATCH, SHARDS, s);
      engine.gradients(params, train, batch.subarray(lo, hi), slots.subarray(s * size, (s + 1) * size), false);
    }
  };
  const scalars = (t: number): AdamScalars => adamScalars({ t, lr: spec.optimizer.learningRate, config: spec.optimizer, gradScale: 1 }, BATCH);
  for (let t = 1; t <= steps; t++) {
    shardGradients(t);
    kernels.reduceAdam(params, m, v, slots, SHARDS, 0, size, scalars(t));
  }
  shardGradients(steps + 1);
  const saved = [params, m, v, slots].map((a) => Float32Array.from(a));
  const restore = (): void => [params, m, v, slots].forEach((a, i) => a.set(saved[i]));

  const layouts: ReadonlyArray<{ name: string; chunks: (blk: number) => Array<[number, number]> }> = [
    { name: 'one stretch (blockBounds)', chunks: (blk) => [blockBounds(size, SHARDS, blk)] },
    {
      name: 'interleaved, 4 stretches',
      chunks: (blk) => Array.from({ length: 4 }, (_, j) => shardBounds(size, 4 * SHARDS, blk + j * SHARDS)),
    },
  ];
  const rows: Row[] = layouts.flatMap((layout) => Array.from({ length: SHARDS }, (_, block) => ({ layout: layout.name, block, micros: [] as number[] })));
  const step = scalars(steps + 1);
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      const chunks = layouts.find((l) => l.name === row.layout)!.chunks(row.block);
      restore();
      const start = performance.now();
      for (const [lo, hi] of chunks) kernels.reduceAdam(params, m, v, slots, SHARDS, lo, hi, step);
      row.micros.push(1000 * (performance.now() - start));
    }
  }
  engine.dispose();

  let subnormal = 0;
  for (const x of saved[1]) if (x !== 0 && Math.abs(x) < 2 ** -126) subnormal++;
  console.log(`seed model, ${size} parameters in ${SHARDS} blocks, after ${steps} steps of batch ${BATCH}: ${subnormal} of m are subnormal`);
  console.log(`µs per block for reduceAdam (${SHARDS} slots), median of ${rounds} interleaved rounds\n`);
  const columns: Column<Row>[] = [
    { kind: 'text', header: 'layout', value: (r) => r.layout },
    { kind: 'number', header: 'block', value: (r) => r.block },
    { kind: 'number', header: 'µs', value: (r) => median(r.micros), decimals: 1 },
  ];
  console.log(formatTerminalTable(columns, rows));
}

await main();
