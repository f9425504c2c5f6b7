/**
 * history.json beside a checkpoint: how the run started (config, machine, engine) and
 * every completed epoch, small enough to rewrite after each epoch. `corefit dashboard
 * --run DIR` draws a finished run from it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, OutputError } from '../errors.js';
import { errnoCode, readProblem, writeProblem } from '../io-problem.js';
import { renameDurably, writeFileDurably } from '../checkpoint/durable-files.js';
import { epochRecordFromJson } from '../checkpoint/run-state.js';
import type { EpochEvent, StartEvent } from './events.js';

export const HISTORY_FILE = 'history.json';

export interface RunHistory {
  readonly start: StartEvent;
  readonly epochs: readonly EpochEvent[];
}

/** Written under a temporary name and renamed, so a crash leaves the previous history whole. */
export async function writeHistoryFile(dir: string, history: RunHistory): Promise<void> {
  const path = join(dir, HISTORY_FILE);
  try {
    await writeFileDurably(`${path}.tmp`, JSON.stringify(history) + '\n');
    await renameDurably(dir, `${path}.tmp`, path);
  } catch (error) {
    if (errnoCode(error) === undefined) throw error;
    throw new OutputError(
      `cannot write ${path}: ${writeProblem(error)}`,
      'Free space or fix the permissions of that folder; a checkpoint written there is intact.',
      { cause: error },
    );
  }
}

export async function readHistoryFile(dir: string): Promise<RunHistory> {
  const path = join(dir, HISTORY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === undefined) throw error;
    throw new CheckpointError(
      `${path} ${readProblem(error)}`,
      'Give a folder that `corefit train --out DIR` wrote (it keeps history.json beside the checkpoint).',
      { cause: error },
    );
  }
  let history: Partial<RunHistory>;
  try {
    history = JSON.parse(text) as Partial<RunHistory>;
  } catch (error) {
    throw new CheckpointError(`${path} is not JSON: ${(error as Error).message}`, 'Restore the folder from a copy, or train again with --out.', {
      cause: error,
    });
  }
  if (history.start?.type !== 'start' || !Array.isArray(history.epochs) || history.epochs.some((e) => e?.type !== 'epoch')) {
    throw new CheckpointError(`${path} does not hold a run's start and epochs`, 'Restore the folder from a copy, or train again with --out.');
  }
  try {
    // The epochs as the checkpoint's run state holds them, checked by its one reader.
    const epochs = history.epochs.map((e, i): EpochEvent => ({ type: 'epoch', ...epochRecordFromJson(`epochs[${i}]`, e) }));
    return { start: history.start, epochs };
  } catch (error) {
    throw new CheckpointError(`${path}: ${(error as Error).message}`, 'Restore the folder from a copy, or train again with --out.', { cause: error });
  }
}
