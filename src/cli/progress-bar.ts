/** The training progress bar: on a TTY only, on stderr, so stdout stays clean for pipes. */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../train/events.js';
import { thousands } from '../output.js';

/** The narrowest bar worth drawing, and the widest. */
const BAR_MIN = 10;
const BAR_MAX = 40;

export interface ProgressLayout {
  readonly format: string;
  /** Characters of the bar; 0 when there is no room for one. */
  readonly barsize: number;
}

/**
 * The bar's format for a terminal `width` columns wide (unlimited when undefined): the
 * step count, the loss, samples/s and the ETA come first; the excess and then the bar
 * itself give way when the line would not fit, so that nothing is cut off at the edge.
 */
export function progressLayout(epoch: number, steps: number, withExcess: boolean, width: number | undefined): ProgressLayout {
  const head = `epoch ${epoch} `;
  const tail = (excess: boolean): string => `{value}/{total} | loss {loss}${excess ? '{excess}' : ''} | {rate} samples/s | ETA {eta_s}s`;
  // The tail with the widest values it shows (ETA up to 9999 s, up to 9,999,999 samples/s).
  const widest = (excess: boolean): string => `${steps}/${steps} | loss 0.1234${excess ? ' (excess 0.1234)' : ''} | 9,999,999 samples/s | ETA 9999s`;
  // One column spare: a line that fills the last column makes some terminals wrap.
  const room = width === undefined ? Infinity : width - 1;
  for (const excess of withExcess ? [true, false] : [false]) {
    const free = room - head.length - '[] '.length - widest(excess).length;
    if (free >= BAR_MIN) return { format: `${head}[{bar}] ${tail(excess)}`, barsize: Math.min(BAR_MAX, free) };
  }
  return { format: `${head}${tail(false)}`, barsize: 0 };
}

export class ProgressBar {
  private bar: cliProgress.SingleBar | undefined;
  private epoch = 0;

  /** `width`: the terminal's columns, read when each epoch's bar starts. */
  constructor(
    private readonly enabled: boolean,
    private readonly width: () => number | undefined = () => undefined,
  ) {}

  update(e: ProgressEvent): void {
    if (!this.enabled) return;
    if (this.bar === undefined || this.epoch !== e.epoch) {
      this.stop();
      this.epoch = e.epoch;
      const layout = progressLayout(e.epoch, e.steps, e.excess !== null, this.width());
      this.bar = new cliProgress.SingleBar(
        {
          format: layout.format,
          barsize: layout.barsize,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(e.steps, 0, { loss: '–', excess: '', rate: '–', eta_s: '–' });
    }
    this.bar.update(e.step, {
      loss: e.loss.toFixed(4),
      excess: e.excess === null ? '' : ` (excess ${e.excess.toFixed(4)})`,
      rate: thousands(e.samples_per_sec),
      eta_s: Math.ceil(e.eta_seconds),
    });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
