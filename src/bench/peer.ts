/** The bench's PyTorch column: the same model, one process and DDP, measured in the same run. */
import { runPytorchPeer, type PeerEpoch } from './pytorch-runner.js';

export interface PeerCell {
  readonly mode: 'process' | 'ddp';
  readonly workers: number;
  readonly batchSize: number;
  readonly samplesPerSec: number;
}

export type PeerReport =
  | {
      readonly peer: 'pytorch';
      readonly torch: string;
      readonly cells: readonly PeerCell[];
      readonly timeToQuality: { readonly batchSize: number; readonly epochs: readonly PeerEpoch[] } | null;
    }
  | { readonly peer: 'pytorch'; readonly unavailable: string };

/** Roughly 30,000 samples per measurement: about a second or two for PyTorch here. */
function stepsFor(batchSize: number): number {
  return Math.max(10, Math.round(30_000 / batchSize));
}

export async function runPeer(
  o: {
    readonly workers: readonly number[];
    readonly batchSizes: readonly number[];
    readonly qualityBatchSizes: readonly number[];
    readonly maxEpochs: number;
    readonly data?: string;
  },
  log: (line: string) => void,
): Promise<PeerReport> {
  const cells: PeerCell[] = [];
  let torch = '';
  for (const batchSize of o.batchSizes) {
    for (const workers of o.workers) {
      const steps = stepsFor(batchSize);
      const run =
        workers === 1
          ? { mode: 'throughput' as const, threads: 1, batch: batchSize, steps }
          : { mode: 'ddp' as const, processes: workers, batch: batchSize, steps };
      const r = await runPytorchPeer({ run, dataDir: o.data });
      if ('unavailable' in r) {
        log(`peer: PyTorch unavailable: ${r.unavailable}; going on without it`);
        return { peer: 'pytorch', unavailable: r.unavailable };
      }
      torch = r.torch;
      cells.push({ mode: workers === 1 ? 'process' : 'ddp', workers, batchSize, samplesPerSec: r.samplesPerSec });
      log(`  PyTorch ${workers === 1 ? '1 process' : `DDP ${workers} processes`}, batch ${batchSize}: ${Math.round(r.samplesPerSec)} samples/s`);
    }
  }
  let timeToQuality = null;
  const qualityBatch = o.qualityBatchSizes.includes(100) ? 100 : o.qualityBatchSizes[0];
  if (qualityBatch !== undefined) {
    const r = await runPytorchPeer({ run: { mode: 'time-to-quality', batch: qualityBatch, epochs: o.maxEpochs }, dataDir: o.data });
    if (!('unavailable' in r)) timeToQuality = { batchSize: qualityBatch, epochs: r.epochs };
  }
  return { peer: 'pytorch', torch, cells, timeToQuality };
}
