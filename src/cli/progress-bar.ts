/** The training progress bar: on a TTY only, on stderr, so stdout stays clean for pipes. */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../train/events.js';
import { thousands } from '../output.js';

export class ProgressBar {
  private bar: cliProgress.SingleBar | undefined;
  private epoch = 0;

  constructor(private readonly enabled: boolean) {}

  update(e: ProgressEvent): void {
    if (!this.enabled) return;
    if (this.bar === undefined || this.epoch !== e.epoch) {
      this.stop();
      this.epoch = e.epoch;
      this.bar = new cliProgress.SingleBar(
        {
          format: `epoch ${e.epoch} [{bar}] {value}/{total} | loss {loss}{excess} | {rate} samples/s | ETA {eta_s}s`,
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
      rate: thousands(e.samples_per_sec), eta_s: Math.ceil(e.eta_seconds),
    });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
