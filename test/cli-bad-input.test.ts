/**
 * Bad input to every command, as a user would type it: unknown flags, sizes that are
 * zero or negative, non-numbers, paths that do not exist or are the wrong kind, broken
 * model specs, damaged or mismatched IDX files (raw and gzip), damaged checkpoints, a
 * checkpoint of another model, and output folders that cannot be written. Each must
 * give `corefit: error: …` naming the problem, its documented exit code, and no stack
 * trace (that takes --debug).
 */
import { cp, mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES } from '../src/data/dataset.js';
import { encodeIdx, type IdxArray } from '../src/data/idx.js';
import { EXIT_CODES } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { STACK_FRAME, jsonLines, runCli } from './helpers/cli.js';
import { freshDirs } from './helpers/temp-dirs.js';

const freshDir = freshDirs('corefit-bad-input-');
const { USAGE, DATA, SPEC, CHECKPOINT } = EXIT_CODES;
const CLASSIFIER = join(PACKAGE_ROOT, 'examples', 'mnist-classifier.json');
/** Keeps a command that should fail early quick, should it fail to fail. */
const TINY = ['--epochs', '1', '--batch-size', '100', '--workers', '2'];
const BENCH_TINY = ['--workers', '1', '--batch-sizes', '100', '--steps', '1', '--repeats', '1', '--target', '0'];

/** Paths of the fixtures, filled in by beforeAll (the cases are listed before it runs). */
const at: Record<string, string> = {};
const p = (name: string): string => at[name] ?? `<${name}>`;

const images = (rows: number, side = 28): IdxArray => ({
  dtype: 'ubyte',
  dims: [rows, side, side],
  data: Uint8Array.from({ length: rows * side * side }, (_, i) => (i * 7) % 256),
});
const labels = (rows: number): IdxArray => ({ dtype: 'ubyte', dims: [rows], data: Uint8Array.from({ length: rows }, (_, i) => i % 10) });

type FileName = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';
const NAMES: Record<FileName, string> = {
  trainImages: DATA_FILES.train.images,
  trainLabels: DATA_FILES.train.labels,
  testImages: DATA_FILES.test.images,
  testLabels: DATA_FILES.test.labels,
};

/** A small MNIST-shaped data folder (300 train, 100 test rows) with some files replaced by raw bytes, gzipped or not. */
async function dataSet(replace: Partial<Record<FileName, { bytes: Uint8Array; gz?: boolean }>> = {}): Promise<string> {
  const dir = freshDir();
  await mkdir(dir, { recursive: true });
  const valid: Record<FileName, IdxArray> = { trainImages: images(300), trainLabels: labels(300), testImages: images(100), testLabels: labels(100) };
  for (const name of Object.keys(NAMES) as FileName[]) {
    const file = replace[name] ?? { bytes: encodeIdx(valid[name]) };
    await writeFile(join(dir, file.gz === true ? `${NAMES[name]}.gz` : NAMES[name]), file.bytes);
  }
  return dir;
}

beforeAll(async () => {
  const trainImages = encodeIdx(images(300));
  const gz = gzipSync(trainImages);
  const corruptGz = Uint8Array.from(gz);
  for (let i = 20; i < 60; i++) corruptGz[i] ^= 0x5a;
  const nan = new Float32Array(300 * 784).fill(0.5);
  nan[1234] = NaN;
  const outOfRange = Int16Array.from({ length: 100 * 784 }, (_, i) => (i === 5 ? 300 : 1));

  at.valid = await dataSet();
  at.truncated = await dataSet({ trainImages: { bytes: trainImages.subarray(0, 1000) } });
  at.trailing = await dataSet({ trainImages: { bytes: Uint8Array.from([...trainImages, 1, 2, 3]) } });
  at.badMagic = await dataSet({ trainImages: { bytes: Uint8Array.from(trainImages, (b, i) => (i === 0 ? 0x12 : b)) } });
  at.truncatedGz = await dataSet({ trainImages: { bytes: gz.subarray(0, gz.length >> 1), gz: true } });
  at.corruptGz = await dataSet({ trainImages: { bytes: corruptGz, gz: true } });
  at.truncatedInGz = await dataSet({ testImages: { bytes: gzipSync(encodeIdx(images(100)).subarray(0, 5000)), gz: true } });
  at.countMismatch = await dataSet({ trainLabels: { bytes: encodeIdx(labels(299)) } });
  at.nan = await dataSet({ trainImages: { bytes: encodeIdx({ dtype: 'float', dims: [300, 28, 28], data: nan }) } });
  at.outOfRange = await dataSet({ testImages: { bytes: encodeIdx({ dtype: 'short', dims: [100, 28, 28], data: outOfRange }) } });
  at.wrongSize = await dataSet({ trainImages: { bytes: encodeIdx(images(300, 10)) }, testImages: { bytes: encodeIdx(images(100, 10)) } });
  at.badLabel = await dataSet({
    testLabels: { bytes: encodeIdx({ dtype: 'ubyte', dims: [100], data: Uint8Array.from({ length: 100 }, (_, i) => (i === 42 ? 20 : i % 10)) }) },
  });
  at.noLabels = freshDir();
  await cp(at.valid, at.noLabels, { recursive: true, filter: (src) => !src.endsWith(DATA_FILES.test.labels) });

  const files = freshDir();
  await mkdir(files);
  at.file = join(files, 'a-file');
  await writeFile(at.file, 'not a folder');
  at.underFile = join(at.file, 'out');
  at.emptyDir = join(files, 'empty');
  await mkdir(at.emptyDir);
  at.readOnly = join(files, 'read-only');
  await mkdir(at.readOnly, { mode: 0o555 });
  at.notJson = join(files, 'not-json.json');
  await writeFile(at.notJson, '{ "layers": [ ');
  at.badSpec = join(files, 'bad-spec.json');
  await writeFile(at.badSpec, JSON.stringify({ name: 'bad', input: { size: 784 }, layers: [{ units: -3, activation: 'relu' }], loss: 'mse' }));
  at.badActivation = join(files, 'bad-activation.json');
  await writeFile(at.badActivation, JSON.stringify({ name: 'bad', input: { size: 784 }, layers: [{ units: 784, activation: 'swish' }], loss: 'mse' }));
  at.convModel = join(files, 'model.json');
  await writeFile(
    at.convModel,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: { layers: [{ class_name: 'Conv2D', config: { filters: 8, kernel_size: [3, 3], batch_input_shape: [null, 28, 28, 1] } }] },
      },
      weightsManifest: [],
    }),
  );

  at.checkpoint = freshDir();
  const trained = await runCli(['train', '--data', at.valid, ...TINY, '--out', at.checkpoint]);
  expect(trained.code, trained.stderr).toBe(0);
  at.truncatedCheckpoint = freshDir();
  await cp(at.checkpoint, at.truncatedCheckpoint, { recursive: true });
  await truncate(join(at.truncatedCheckpoint, 'weights.bin'), 1000);
  at.corruptState = freshDir();
  await cp(at.checkpoint, at.corruptState, { recursive: true });
  await writeFile(join(at.corruptState, 'state.msgpack'), 'this is not msgpack');
});

interface Case {
  readonly args: () => string[];
  readonly code: number;
  /** What the first line of the error must say. */
  readonly says: () => string | RegExp;
  readonly env?: NodeJS.ProcessEnv;
}

const usage = (args: () => string[], says: () => string | RegExp): Case => ({ args, code: USAGE, says });

const CASES: Record<string, Case> = {
  // train: flags
  'train: an unknown flag': usage(
    () => ['train', '--bogus'],
    () => "unknown option '--bogus'",
  ),
  'train: a stray argument': usage(
    () => ['train', 'extra'],
    () => 'too many arguments',
  ),
  'train: a flag without its value': usage(
    () => ['train', '--epochs'],
    () => "option '--epochs <n>' argument missing",
  ),
  'train: --epochs 0': usage(
    () => ['train', '--epochs', '0'],
    () => '--epochs must be a whole number ≥ 1, got 0',
  ),
  'train: --batch-size -5': usage(
    () => ['train', '--batch-size', '-5'],
    () => '--batch-size must be a whole number ≥ 1, got -5',
  ),
  'train: --workers abc': usage(
    () => ['train', '--workers', 'abc'],
    () => "'--workers <n>' argument 'abc' is invalid",
  ),
  'train: --shards 0': usage(
    () => ['train', '--shards', '0'],
    () => '--shards must be a whole number ≥ 1, got 0',
  ),
  'train: --seed 1.5': usage(
    () => ['train', '--seed', '1.5'],
    () => "'--seed <n>' argument '1.5' is invalid",
  ),
  'train: --lr 0': usage(
    () => ['train', '--lr', '0'],
    () => '--lr must be a number > 0, got 0',
  ),
  'train: --lr Infinity': usage(
    () => ['train', '--lr', 'Infinity'],
    () => "'--lr <x>' argument 'Infinity' is invalid",
  ),
  'train: --lr NaN': usage(
    () => ['train', '--lr', 'NaN'],
    () => "'--lr <x>' argument 'NaN' is invalid",
  ),
  'train: --warmup-epochs -1': usage(
    () => ['train', '--warmup-epochs', '-1'],
    () => '--warmup-epochs must be a number ≥ 0, got -1',
  ),
  'train: --clip-norm 0': usage(
    () => ['train', '--clip-norm', '0'],
    () => '--clip-norm must be a number > 0, got 0',
  ),
  'train: --accumulate 0': usage(
    () => ['train', '--accumulate', '0'],
    () => '--accumulate must be a whole number ≥ 1, got 0',
  ),
  'train: --train-rows 0': usage(
    () => ['train', '--train-rows', '0'],
    () => '--train-rows must be a whole number ≥ 1, got 0',
  ),
  'train: --test-rows 2x': usage(
    () => ['train', '--test-rows', '2x'],
    () => "'--test-rows <n>' argument '2x' is invalid",
  ),
  'train: --lr-scaling cubic': usage(
    () => ['train', '--lr-scaling', 'cubic'],
    () => 'expected one of none, linear, sqrt, got "cubic"',
  ),
  'train: --lr-schedule wavy': usage(
    () => ['train', '--lr-schedule', 'wavy'],
    () => 'expected one of constant, cosine, step, got "wavy"',
  ),
  'train: --engine gpu': usage(
    () => ['train', '--engine', 'gpu'],
    () => 'expected one of auto, native, tfjs, got "gpu"',
  ),
  'train: --checkpoint-every 0': usage(
    () => ['train', '--checkpoint-every', '0', '--out', p('emptyDir')],
    () => '--checkpoint-every must be a whole number ≥ 1, got 0',
  ),
  'train: --checkpoint-every without --out': usage(
    () => ['train', ...TINY, '--checkpoint-every', '3'],
    () => '--checkpoint-every needs --out',
  ),
  // Refused before any data is read: the data folder given does not exist.
  'train: more workers than shards': usage(
    () => ['train', ...TINY, '--workers', '3', '--shards', '2', '--data', join(PACKAGE_ROOT, 'no-such-data-folder')],
    () => '--workers (3) must not exceed --shards (2)',
  ),
  'train: --comm-timeout without --comm mpi': usage(
    () => ['train', ...TINY, '--comm-timeout', '5'],
    () => '--comm-timeout needs --comm mpi',
  ),
  'bench: --comm mpi with flags of the sweep': usage(
    () => ['bench', '--comm', 'mpi', '--quick', '--workers', '1,2'],
    () => '--comm mpi does not take more than one --workers, --quick',
  ),
  'train: a batch smaller than the shard count': usage(
    () => ['train', '--epochs', '1', '--batch-size', '3', '--shards', '4', '--workers', '1', '--data', join(PACKAGE_ROOT, 'no-such-data-folder')],
    () => '--batch-size (3) is smaller than the shard count (4)',
  ),
  'train: a batch larger than the data': usage(
    () => ['train', '--data', p('valid'), '--epochs', '1', '--batch-size', '500'],
    () => 'one step needs 500 rows but the training split has 300',
  ),
  'train: --train-rows beyond the data': usage(
    () => ['train', '--data', p('valid'), '--epochs', '1', '--train-rows', '301'],
    () => '--train-rows 301 exceeds the 300 training rows of the data',
  ),
  'train: a malformed COREFIT_TEST_FAULT': {
    args: () => ['train', '--data', p('valid'), ...TINY],
    code: USAGE,
    says: () => 'COREFIT_TEST_FAULT="1:x" is not rank:step:kind',
    env: { COREFIT_TEST_FAULT: '1:x' },
  },

  // train: --out that cannot be written, refused before training
  'train: --out under a file': usage(
    () => ['train', '--data', p('valid'), ...TINY, '--out', p('underFile')],
    () => `--out ${p('underFile')} cannot be written: a part of the path is a file, not a folder`,
  ),
  'train: --out that is a file': usage(
    () => ['train', '--data', p('valid'), ...TINY, '--out', p('file')],
    () => `--out ${p('file')} cannot be written: a file or folder of that name is in the way`,
  ),

  // train: model specs
  'train: --model that does not exist': {
    args: () => ['train', '--model', '/no/such/model.json'],
    code: SPEC,
    says: () => '/no/such/model.json does not exist',
  },
  'train: --model that is a folder': { args: () => ['train', '--model', p('emptyDir')], code: SPEC, says: () => `${p('emptyDir')} is a folder, not a file` },
  'train: --model that is not JSON': { args: () => ['train', '--model', p('notJson')], code: SPEC, says: () => `${p('notJson')} is not valid JSON` },
  'train: --model with negative units': { args: () => ['train', '--model', p('badSpec')], code: SPEC, says: () => /units/ },
  'train: --model with an unknown activation': { args: () => ['train', '--model', p('badActivation')], code: SPEC, says: () => /swish/ },
  'train: --model a model.json of a Conv2D': { args: () => ['train', '--model', p('convModel')], code: SPEC, says: () => /Conv2D/ },

  // train: data
  'train: --data that does not exist': { args: () => ['train', '--data', '/no/such/data'], code: DATA, says: () => '/no/such/data: no such folder' },
  'train: --data that is a file': { args: () => ['train', '--data', p('file')], code: DATA, says: () => `${p('file')}: is not a folder` },
  'train: --data without a label file': {
    args: () => ['train', '--data', p('noLabels'), ...TINY],
    code: DATA,
    says: () => `lacks ${DATA_FILES.test.labels}[.gz]`,
  },
  'train: a truncated image file': {
    args: () => ['train', '--data', p('truncated'), ...TINY],
    code: DATA,
    says: () =>
      `${p('truncated')}/${DATA_FILES.train.images}: is truncated: its header declares 300×28×28 ubyte, which needs 235216 bytes, but it has 1000 bytes`,
  },
  'train: an image file with trailing bytes': {
    args: () => ['train', '--data', p('trailing'), ...TINY],
    code: DATA,
    says: () => `${p('trailing')}/${DATA_FILES.train.images}: has 3 trailing bytes`,
  },
  'train: an image file that is not IDX': {
    args: () => ['train', '--data', p('badMagic'), ...TINY],
    code: DATA,
    says: () => `${p('badMagic')}/${DATA_FILES.train.images}: is not an IDX file`,
  },
  'train: a truncated .gz': {
    args: () => ['train', '--data', p('truncatedGz'), ...TINY],
    code: DATA,
    says: () => `${p('truncatedGz')}/${DATA_FILES.train.images}.gz: is not a readable gzip file`,
  },
  'train: a corrupt .gz': {
    args: () => ['train', '--data', p('corruptGz'), ...TINY],
    code: DATA,
    says: () => `${p('corruptGz')}/${DATA_FILES.train.images}.gz:`,
  },
  'train: a .gz of a truncated file': {
    args: () => ['train', '--data', p('truncatedInGz'), ...TINY],
    code: DATA,
    says: () => `${p('truncatedInGz')}/${DATA_FILES.test.images}.gz: is truncated`,
  },
  'train: image and label counts that differ': {
    args: () => ['train', '--data', p('countMismatch'), ...TINY],
    code: DATA,
    says: () => `holds 300 images but ${p('countMismatch')}/${DATA_FILES.train.labels} holds 299 labels`,
  },
  'train: a NaN pixel': {
    args: () => ['train', '--data', p('nan'), ...TINY],
    code: DATA,
    says: () => `${p('nan')}/${DATA_FILES.train.images}: value NaN at index 1234 (image 1, value 450) is not finite`,
  },
  'train: a pixel outside 0..255': {
    args: () => ['train', '--data', p('outOfRange'), ...TINY],
    code: DATA,
    says: () => `${p('outOfRange')}/${DATA_FILES.test.images}: value 300 at index 5 (image 0, value 5) is outside 0..255`,
  },
  'train: images of another size than the model': {
    args: () => ['train', '--data', p('wrongSize'), ...TINY],
    code: DATA,
    says: () => `holds 10×10 images (100 values each), but model "mnist-autoencoder" takes 784 inputs`,
  },
  'train: a label the classifier has no class for': {
    args: () => ['train', '--data', p('badLabel'), '--model', CLASSIFIER, ...TINY],
    code: DATA,
    says: () => `${p('badLabel')}/${DATA_FILES.test.labels}: label 20 at index 42 is not one of the 10 classes`,
  },

  // train: --resume
  'train: --resume of a folder that does not exist': {
    args: () => ['train', '--resume', '/no/such/checkpoint'],
    code: CHECKPOINT,
    says: () => 'checkpoint /no/such/checkpoint: no such directory',
  },
  'train: --resume of a file': {
    args: () => ['train', '--resume', p('file')],
    code: CHECKPOINT,
    says: () => `checkpoint ${p('file')}: is a file, not a directory`,
  },
  'train: --resume of an empty folder': {
    args: () => ['train', '--resume', p('emptyDir')],
    code: CHECKPOINT,
    says: () => 'weights.bin, model.json, state.msgpack are missing',
  },
  'train: --resume of truncated weights': {
    args: () => ['train', '--resume', p('truncatedCheckpoint'), '--data', p('valid')],
    code: CHECKPOINT,
    says: () => 'weights.bin holds 1000 bytes',
  },
  'train: --resume of a damaged state file': {
    args: () => ['train', '--resume', p('corruptState'), '--data', p('valid')],
    code: CHECKPOINT,
    says: () => 'state.msgpack is not a valid training state',
  },
  'train: --resume of another architecture': {
    args: () => ['train', '--resume', p('checkpoint'), '--model', CLASSIFIER, '--data', p('valid')],
    code: CHECKPOINT,
    says: () => `checkpoint ${p('checkpoint')} holds a different model: 6 layers in the checkpoint, 3 in the requested model`,
  },
  'train: --resume on other data (a forgotten --data)': usage(
    () => ['train', '--resume', p('checkpoint'), '--epochs', '2'],
    () => /was trained on \S+ \(sha256 of the rows used \w+\), but these rows are mnist \(sha256 of the rows used \w+\)/,
  ),
  'train: --resume with another batch size': usage(
    () => ['train', '--resume', p('checkpoint'), '--data', p('valid'), '--batch-size', '50'],
    () => "--batch-size 50 differs from the checkpoint's 100",
  ),

  // eval
  'eval: no --checkpoint': usage(
    () => ['eval'],
    () => "required option '--checkpoint <dir>' not specified",
  ),
  'eval: an unknown flag': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--bogus'],
    () => "unknown option '--bogus'",
  ),
  'eval: --workers 0': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--workers', '0'],
    () => '--workers must be a whole number ≥ 1, got 0',
  ),
  'eval: --test-rows -1': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--test-rows', '-1'],
    () => '--test-rows must be a whole number ≥ 1, got -1',
  ),
  'eval: --test-rows beyond the data': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--data', p('valid'), '--test-rows', '101'],
    () => '--test-rows 101 exceeds the 100 test rows',
  ),
  'eval: --engine gpu': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--engine', 'gpu'],
    () => 'expected one of auto, native, tfjs, got "gpu"',
  ),
  'eval: a checkpoint that does not exist': {
    args: () => ['eval', '--checkpoint', '/no/such/checkpoint'],
    code: CHECKPOINT,
    says: () => 'checkpoint /no/such/checkpoint: no such directory',
  },
  'eval: a truncated checkpoint': {
    args: () => ['eval', '--checkpoint', p('truncatedCheckpoint'), '--data', p('valid')],
    code: CHECKPOINT,
    says: () => 'weights.bin holds 1000 bytes',
  },
  'eval: damaged data': {
    args: () => ['eval', '--checkpoint', p('checkpoint'), '--data', p('truncatedGz')],
    code: DATA,
    says: () => 'is not a readable gzip file',
  },
  'eval: data of another size': {
    args: () => ['eval', '--checkpoint', p('checkpoint'), '--data', p('wrongSize')],
    code: DATA,
    says: () => 'holds 10×10 images (100 values each)',
  },

  // eval: --images that cannot be written, refused before the checkpoint and the data are read
  'eval: --images under a file': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--data', p('valid'), '--images', p('underFile')],
    () => `--images ${p('underFile')} cannot be written: a part of the path is a file, not a folder`,
  ),
  'eval: --images that is a file': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--data', p('valid'), '--images', p('file')],
    () => `--images ${p('file')} cannot be written: a file or folder of that name is in the way`,
  ),
  // Damaged data would fail the evaluation first: this error proves the check comes before it.
  'eval: --images under a file, with damaged data': usage(
    () => ['eval', '--checkpoint', p('checkpoint'), '--data', p('truncatedGz'), '--images', p('underFile')],
    () => `--images ${p('underFile')} cannot be written`,
  ),

  // bench
  'bench: an unknown flag': usage(
    () => ['bench', '--bogus'],
    () => "unknown option '--bogus'",
  ),
  'bench: --workers 0': usage(
    () => ['bench', '--workers', '0'],
    () => '--workers must be a whole number ≥ 1, got 0',
  ),
  'bench: --batch-sizes 100,x': usage(
    () => ['bench', '--batch-sizes', '100,x'],
    () => 'expected a whole number, got "x"',
  ),
  'bench: --seconds 0': usage(
    () => ['bench', '--seconds', '0'],
    () => '--seconds must be a number > 0, got 0',
  ),
  'bench: --repeats 0': usage(
    () => ['bench', '--repeats', '0'],
    () => '--repeats must be a whole number ≥ 1, got 0',
  ),
  'bench: --max-epochs -2': usage(
    () => ['bench', '--max-epochs', '-2'],
    () => '--max-epochs must be a whole number ≥ 1, got -2',
  ),
  'bench: --target -1': usage(
    () => ['bench', '--target', '-1'],
    () => '--target must be a number ≥ 0, got -1',
  ),
  'bench: --peer tensorflow': usage(
    () => ['bench', '--peer', 'tensorflow'],
    () => 'expected one of pytorch, got "tensorflow"',
  ),
  'bench: --steps and --seconds': usage(
    () => ['bench', '--steps', '1', '--seconds', '1'],
    () => 'give --steps or --seconds, not both',
  ),
  'bench: --out under a file': usage(
    () => ['bench', ...BENCH_TINY, '--out', p('underFile')],
    () => `--out ${p('underFile')} cannot be written: a part of the path is a file`,
  ),
  'bench: --model that does not exist': {
    args: () => ['bench', ...BENCH_TINY, '--model', '/no/such/model.json'],
    code: SPEC,
    says: () => '/no/such/model.json does not exist',
  },
  'bench: --data that does not exist': {
    args: () => ['bench', ...BENCH_TINY, '--data', '/no/such/data'],
    code: DATA,
    says: () => '/no/such/data: no such folder',
  },

  // lint
  'lint: no model': usage(
    () => ['lint'],
    () => "missing required argument 'model'",
  ),
  'lint: an unknown flag': usage(
    () => ['lint', CLASSIFIER, '--bogus'],
    () => "unknown option '--bogus'",
  ),
  'lint: a model that does not exist': { args: () => ['lint', '/no/such/model.json'], code: SPEC, says: () => '/no/such/model.json does not exist' },
  'lint: a model that is not JSON': { args: () => ['lint', p('notJson')], code: SPEC, says: () => 'is not valid JSON' },
  'lint: --data that does not exist': { args: () => ['lint', CLASSIFIER, '--data', '/no/such/data'], code: DATA, says: () => '/no/such/data: no such folder' },
  'lint: --data of another size': {
    args: () => ['lint', CLASSIFIER, '--data', p('wrongSize')],
    code: DATA,
    says: () => 'but model "mnist-classifier" takes 784 inputs',
  },
};

describe('bad input gives a clear error, its exit code and no stack trace', () => {
  it.concurrent.each(Object.entries(CASES))('%s', async (_, c) => {
    const run = await runCli(c.args(), c.env);
    expect(run.code, run.stderr).toBe(c.code);
    const first = run.stderr.split('\n').find((l) => l.startsWith('corefit: error: '));
    expect(first, run.stderr).toBeDefined();
    const says = c.says();
    if (typeof says === 'string') expect(first).toContain(says);
    else expect(first).toMatch(says);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stderr).not.toMatch(/This is a bug in corefit/);
  });

  it('prints the stack trace with --debug, and the error as JSON with --json', async () => {
    const debug = await runCli(['train', '--model', p('notJson'), '--debug']);
    expect(debug.code).toBe(SPEC);
    expect(debug.stderr).toMatch(STACK_FRAME);
    const json = await runCli(['train', '--model', p('notJson'), '--json']);
    expect(json.code).toBe(SPEC);
    expect(jsonLines(json.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'SPEC', message: expect.stringContaining('is not valid JSON') })]);
    expect(json.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('eval --images that cannot be written is refused before the evaluation', () => {
  // Root writes into read-only folders, and Windows has none.
  const canDenyWrites = process.platform !== 'win32' && process.getuid?.() !== 0;
  const evalInto = (images: string, ...rest: string[]): string[] => [
    'eval',
    '--checkpoint',
    p('checkpoint'),
    '--data',
    p('valid'),
    '--images',
    images,
    ...rest,
  ];

  it('prints no evaluation result, only the error', async () => {
    const human = await runCli(evalInto(p('underFile')));
    expect(human.code, human.stderr).toBe(USAGE);
    expect(human.stdout).not.toMatch(/test loss/);
    expect(human.stderr).toContain('Give --images a folder you can write to');
    const json = await runCli(evalInto(p('underFile'), '--json'));
    expect(json.code, json.stderr).toBe(USAGE);
    expect(jsonLines(json.stdout)).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'USAGE',
        message: `--images ${p('underFile')} cannot be written: a part of the path is a file, not a folder`,
      }),
    ]);
  });

  it.skipIf(!canDenyWrites)('refuses a read-only folder', async () => {
    const run = await runCli(evalInto(p('readOnly'), '--json'));
    expect(run.code, run.stderr).toBe(USAGE);
    expect(jsonLines(run.stdout)).toEqual([
      expect.objectContaining({ type: 'error', code: 'USAGE', message: `--images ${p('readOnly')} cannot be written: permission denied` }),
    ]);
  });
});
