/**
 * What the dashboard knows of one run, built only from train events (or from the
 * history.json of a finished run): enough to draw the whole page for a browser that
 * connects at any moment, and the message each new event sends to pages already open.
 */
import { learningRateAt } from '../optim/schedule.js';
import type { PictureFile } from '../report/training-pictures.js';
import type { RunHistory } from '../train/history-file.js';
import type { CheckpointEvent, EpochEvent, ProgressEvent, StartEvent, TrainEvent } from '../train/events.js';

/** The pictures a page shows; loss.png is the loss chart drawn live. */
export const PAGE_PICTURES = ['reconstructions.png', 'latent.png'] as const satisfies readonly PictureFile[];
export type PagePicture = (typeof PAGE_PICTURES)[number];

/** Points of the within-epoch train loss kept for new pages; older ones are thinned beyond this. */
export const MAX_PROGRESS_POINTS = 2000;
/**
 * Progress goes to pages at most this often (the run reports it 4 times a second),
 * counted from the run's start or the last message that carried loss points, an
 * epoch's too: each message costs a browser a frame, up to tens of ms of CPU across its
 * processes, and on a machine whose every core trains, that is what watching costs.
 * Epochs whose steps and pause take less than this send none; their epoch message
 * brings the points.
 */
export const PROGRESS_EVERY_MS = 2000;
/**
 * New pictures go to pages at most this often. They come as the next epoch's steps begin,
 * and a page takes tens of ms of CPU to take in their few hundred kB: so they travel with
 * the next epoch's message, in the pause after its steps, unless epochs last this long or
 * more (then that cost is a small share of one, and they go at once). The run's end sends
 * the last ones.
 */
export const PICTURES_EVERY_MS = 10_000;
/** Points of the learning-rate curve over the run's steps. */
const LR_POINTS = 400;

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'finished run';

/**
 * Each picture of the latest epoch that drew it, as a data: URL, or why it could not be
 * drawn. Pictures travel inside the messages (a few tens of kB), so a page has them even
 * when the run, and its server, end right after the last epoch.
 */
export type PictureState = { readonly epoch: number; readonly src: string } | { readonly skip: string };

export interface Snapshot {
  readonly type: 'snapshot';
  readonly status: RunStatus;
  readonly start: StartEvent | null;
  /** [step, lr] over the planned steps. */
  readonly lr_curve: ReadonlyArray<readonly [number, number]>;
  readonly epochs: readonly EpochEvent[];
  /** [epoch − 1 + step / steps, mean loss so far in that epoch]. */
  readonly progress: ReadonlyArray<readonly [number, number]>;
  readonly last_progress: ProgressEvent | null;
  readonly checkpoint: CheckpointEvent | null;
  readonly pictures: Readonly<Partial<Record<PagePicture, PictureState>>>;
}

/** What a page is sent: the whole state, or one change to it. */
export type PageMessage =
  | Snapshot
  | { readonly type: 'start'; readonly start: StartEvent; readonly lr_curve: Snapshot['lr_curve'] }
  | (ProgressEvent & { readonly points: Snapshot['progress'] })
  | (EpochEvent & { readonly points: Snapshot['progress']; readonly pictures?: Snapshot['pictures'] })
  | CheckpointEvent
  | { readonly type: 'pictures'; readonly epoch: number; readonly pictures: Snapshot['pictures'] }
  | { readonly type: 'status'; readonly status: RunStatus; readonly message?: string; readonly pictures: Snapshot['pictures'] };

export class RunView {
  private status: RunStatus = 'running';
  private start: StartEvent | null = null;
  private lrCurve: Array<readonly [number, number]> = [];
  private epochs: EpochEvent[] = [];
  private progress: Array<readonly [number, number]> = [];
  /** Points of the within-epoch loss not sent yet: each message carries those since the last, and a snapshot those sent. */
  private unsentPoints: Array<readonly [number, number]> = [];
  private lastProgress: ProgressEvent | null = null;
  private checkpoint: CheckpointEvent | null = null;
  private pictures: Partial<Record<PagePicture, PictureState>> = {};
  private progressSentAt = -Infinity;
  private picturesSentAt = -Infinity;
  /** Pictures newer than those pages have. */
  private picturesHeld = false;
  /**
   * The run's start is not sent yet: it goes with the first message after it (progress after
   * PROGRESS_EVERY_MS, or epoch 1's in the pause) rather than costing pages a frame of their own
   * during the first steps. Pages that connect meanwhile have it in their snapshot.
   */
  private startHeld = false;
  private epochStartedAt = 0;
  private lastEpochMs = 0;

  /** A finished run, from its history file and the pictures found beside it. */
  static finished(history: RunHistory, checkpointDir: string, pictures: ReadonlyMap<PagePicture, Buffer>): RunView {
    const view = new RunView();
    view.apply(history.start);
    for (const e of history.epochs) view.apply(e);
    const last = history.epochs[history.epochs.length - 1];
    view.checkpoint = { type: 'checkpoint', dir: checkpointDir, epoch: last?.epoch ?? 0, step: last?.step ?? 0 };
    for (const [name, png] of pictures) view.pictures[name] = { epoch: last?.epoch ?? 0, src: dataUrl(png) };
    view.status = 'finished run';
    return view;
  }

  /** Takes one train event in; returns what to send to open pages, in order (often nothing). */
  apply(e: TrainEvent): PageMessage[] {
    if (e.type === 'start') {
      this.start = e;
      this.lrCurve = lrCurve(e);
      this.epochStartedAt = performance.now();
      this.progressSentAt = this.epochStartedAt;
      this.startHeld = true;
      return [];
    }
    return this.afterHeldStart(this.change(e));
  }

  /** The run ended (or failed); pages keep what they show and say so. */
  finish(status: RunStatus, message?: string): PageMessage[] {
    this.status = status;
    return this.afterHeldStart({ type: 'status', status, message, pictures: { ...this.pictures } });
  }

  private afterHeldStart(message: PageMessage | undefined): PageMessage[] {
    if (message === undefined) return [];
    if (!this.startHeld || this.start === null) return [message];
    this.startHeld = false;
    return [{ type: 'start', start: this.start, lr_curve: this.lrCurve }, message];
  }

  private change(e: Exclude<TrainEvent, StartEvent>): PageMessage | undefined {
    switch (e.type) {
      case 'progress': {
        this.lastProgress = e;
        this.unsentPoints.push([e.epoch - 1 + e.step / e.steps, e.loss]);
        const now = performance.now();
        if (now - this.progressSentAt < PROGRESS_EVERY_MS) return undefined;
        this.progressSentAt = now;
        return { ...e, points: this.takeUnsentPoints() };
      }
      case 'epoch': {
        this.epochs.push(e);
        this.lastProgress = null;
        const now = performance.now();
        this.lastEpochMs = now - this.epochStartedAt;
        this.epochStartedAt = now;
        this.progressSentAt = now;
        const points = this.takeUnsentPoints();
        if (!this.picturesHeld || now - this.picturesSentAt < PICTURES_EVERY_MS) return { ...e, points };
        this.picturesHeld = false;
        this.picturesSentAt = now;
        return { ...e, points, pictures: { ...this.pictures } };
      }
      case 'checkpoint':
        this.checkpoint = e;
        return e;
      case 'pictures': {
        for (const name of PAGE_PICTURES) {
          const drawing = e.pictures[name];
          this.pictures[name] = Buffer.isBuffer(drawing) ? { epoch: e.epoch, src: dataUrl(drawing) } : { skip: drawing.skip };
        }
        this.picturesHeld = this.lastEpochMs < PICTURES_EVERY_MS;
        if (this.picturesHeld) return undefined;
        this.picturesSentAt = performance.now();
        return { type: 'pictures', epoch: e.epoch, pictures: { ...this.pictures } };
      }
    }
  }

  private takeUnsentPoints(): Snapshot['progress'] {
    const points = this.unsentPoints;
    this.unsentPoints = [];
    this.progress.push(...points);
    // Halving keeps the shape of a long run's curve at a bounded cost per page.
    if (this.progress.length > MAX_PROGRESS_POINTS) this.progress = this.progress.filter((_, i) => i % 2 === 1);
    return points;
  }

  snapshot(): Snapshot {
    return {
      type: 'snapshot',
      status: this.status,
      start: this.start,
      lr_curve: this.lrCurve,
      epochs: this.epochs,
      progress: this.progress,
      last_progress: this.lastProgress,
      checkpoint: this.checkpoint,
      pictures: { ...this.pictures },
    };
  }
}

function dataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

function lrCurve(start: StartEvent): Array<readonly [number, number]> {
  const steps = Math.max(1, start.epochs * start.steps_per_epoch);
  const every = Math.max(1, Math.floor(steps / LR_POINTS));
  const curve: Array<readonly [number, number]> = [];
  for (let t = 1; t <= steps; t += every) curve.push([t, learningRateAt(start.lr_schedule, t)]);
  if (curve[curve.length - 1][0] !== steps) curve.push([steps, learningRateAt(start.lr_schedule, steps)]);
  return curve;
}
