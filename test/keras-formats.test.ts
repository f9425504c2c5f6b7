/**
 * The files Keras and tfjs write for a Sequential of Dense layers, as corefit's user has
 * them: Keras 2's and Keras 3's model.to_json(), the config.json inside a .keras file, and
 * a tfjs model.json. Fixtures in test/fixtures/keras hold the seed autoencoder in each
 * form, shaped like the real files. What corefit cannot train is refused, saying what.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILES } from '../src/data/dataset.js';
import { encodeIdx } from '../src/data/idx.js';
import { EXIT_CODES, SpecError } from '../src/errors.js';
import { DEFAULT_SPEC, parseSpec } from '../src/model/spec.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { jsonLines, runCli } from './helpers/cli.js';
import { writeSmallDataSet } from './helpers/small-data.js';
import { freshDirs } from './helpers/temp-dirs.js';

const FIXTURES = join(PACKAGE_ROOT, 'test', 'fixtures', 'keras');
const fixture = (name: string): string => join(FIXTURES, name);
const read = (name: string): Record<string, unknown> => JSON.parse(readFileSync(fixture(name), 'utf8')) as Record<string, unknown>;
const ACCEPTED = ['keras2-to-json.json', 'keras3-to-json.json', 'keras3-config.json', 'tfjs-model.json'];

const freshDir = freshDirs('corefit-keras-');
let data: string;
beforeAll(async () => {
  data = await writeSmallDataSet(freshDir());
});

function refusal(json: unknown): string {
  try {
    parseSpec(json, 'model.json');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).message;
  }
  throw new Error('the model was accepted');
}

/** A bare Keras Sequential with the given layers. */
const sequential = (layers: unknown[]): Record<string, unknown> => ({
  class_name: 'Sequential',
  config: { name: 's', layers },
  keras_version: '2.12.0',
  backend: 'tensorflow',
});
const dense = (units: number, activation: string, extra: Record<string, unknown> = {}): unknown => ({
  class_name: 'Dense',
  config: { name: `d${units}`, units, activation, ...extra },
});

describe('Keras and tfjs files of a Sequential of Dense layers are read', () => {
  it.each(ACCEPTED)('%s: the seed autoencoder, layer by layer', (name) => {
    const spec = parseSpec(read(name), name);
    expect(spec.name).toBe('autoencoder');
    expect(spec.inputSize).toBe(784);
    expect(spec.layers).toEqual(DEFAULT_SPEC.layers);
    expect(spec.loss).toBe('binary_crossentropy');
    expect(spec.target).toBe('input');
  });

  it("the .keras config.json's compile_config gives the loss object and the optimizer", () => {
    const spec = parseSpec(read('keras3-config.json'));
    expect(spec.optimizer.learningRate).toBeCloseTo(0.002, 9);
    expect(spec.optimizer.beta1).toBeCloseTo(0.9, 9);
    expect(spec.optimizer.epsilon).toBe(1e-7);
  });

  it("the tfjs converter's training_config gives the optimizer", () => {
    expect(parseSpec(read('tfjs-model.json')).optimizer.beta1).toBeCloseTo(0.9, 6);
  });

  it('a leading Flatten of 28 × 28 images makes 784 inputs', () => {
    const flatten = { class_name: 'Flatten', config: { name: 'flatten', batch_input_shape: [null, 28, 28] } };
    const spec = parseSpec({ ...sequential([flatten, dense(10, 'softmax')]), compile_config: { loss: 'sparse_categorical_crossentropy' } });
    expect(spec.inputSize).toBe(784);
    expect(spec.target).toBe('label');
  });

  it('a first Dense layer carrying the input shape (older Keras 2, no InputLayer)', () => {
    const spec = parseSpec(sequential([dense(16, 'relu', { batch_input_shape: [null, 8] }), dense(8, 'sigmoid')]));
    expect(spec.inputSize).toBe(8);
  });
});

describe('what corefit cannot train is refused, naming it', () => {
  it('non-Dense layers, each by its place, class and name', () => {
    expect(refusal(read('keras2-cnn.json'))).toBe('model.json: layers 1 Conv2D "conv2d", 3 Dropout "dropout" are not Dense');
  });

  it('an input that is not flat and not flattened', () => {
    expect(refusal(sequential([{ class_name: 'InputLayer', config: { batch_shape: [null, 28, 28] } }, dense(784, 'sigmoid')]))).toMatch(
      /the input shape \[null,28,28\] is not flat/,
    );
  });

  it('a functional model', () => {
    expect(refusal({ ...sequential([dense(8, 'sigmoid')]), class_name: 'Functional' })).toMatch(/model class "Functional" is not supported/);
  });

  it('a Dense layer without a bias', () => {
    expect(refusal(sequential([{ class_name: 'InputLayer', config: { batch_shape: [null, 8] } }, dense(8, 'sigmoid', { use_bias: false })]))).toMatch(
      /a Dense layer without a bias is not supported/,
    );
  });

  it('a loss computed from logits', () => {
    const json = {
      ...sequential([{ class_name: 'InputLayer', config: { batch_shape: [null, 8] } }, dense(8, 'linear')]),
      compile_config: { loss: { class_name: 'BinaryCrossentropy', config: { from_logits: true } } },
    };
    expect(refusal(json)).toMatch(/from_logits=True is not supported/);
  });

  it('a model without an input size', () => {
    expect(refusal(sequential([dense(8, 'sigmoid')]))).toMatch(/the input size is not recorded/);
  });
});

describe('through the CLI', () => {
  it.each(ACCEPTED)('lint accepts %s', async (name) => {
    const run = await runCli(['lint', fixture(name), '--data', data, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', exit_code: 0 });
  });

  it.each(['keras2-to-json.json', 'keras3-config.json'])('train trains %s', async (name) => {
    const run = await runCli(['train', '--model', fixture(name), '--data', data, '--epochs', '1', '--workers', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ type: 'summary', status: 'completed' });
  });

  it('a .keras file given directly is refused with the way to its config.json', async () => {
    const run = await runCli(['train', '--model', fixture('autoencoder.keras'), '--data', data]);
    expect(run.code, run.stderr).toBe(EXIT_CODES.SPEC);
    expect(run.stderr).toContain('is a zip archive (a .keras file), not JSON');
    expect(run.stderr).toContain(`unzip -p ${fixture('autoencoder.keras')} config.json`);
  });

  it('a model with other layers is refused, naming them', async () => {
    const run = await runCli(['lint', fixture('keras2-cnn.json'), '--data', data]);
    expect(run.code, run.stderr).toBe(EXIT_CODES.SPEC);
    expect(run.stderr).toContain('layers 1 Conv2D "conv2d", 3 Dropout "dropout" are not Dense');
  });

  it("lint's hint for a missing file does not name a flag lint does not have", async () => {
    const run = await runCli(['lint', join(FIXTURES, 'missing.json'), '--data', data]);
    expect(run.code).toBe(EXIT_CODES.SPEC);
    expect(run.stderr).toContain('missing.json does not exist');
    expect(run.stderr).not.toContain('--model');
  });
});

describe('a Keras file does not say how its inputs are scaled', () => {
  it('train and lint say what corefit assumes', async () => {
    const train = await runCli(['train', '--model', fixture('keras2-to-json.json'), '--data', data, '--epochs', '1', '--workers', '1', '--json']);
    expect(train.code, train.stderr).toBe(0);
    expect(train.stderr).toContain('keras2-to-json.json does not say how its inputs are scaled, so corefit divides the pixels by 255');
    expect(jsonLines(train.stdout)).toContainEqual(
      expect.objectContaining({ type: 'note', message: expect.stringContaining('"corefit": {"normalize": false}') }),
    );
    const lint = await runCli(['lint', fixture('tfjs-model.json'), '--data', data]);
    expect(lint.stdout).toContain('note: ');
    expect(lint.stdout).toContain('tfjs-model.json does not say how its inputs are scaled');
  });

  it('and data already in [0, 1] that would be divided by 255 again is linted', async () => {
    const scaled = freshDir();
    await mkdir(scaled);
    for (const split of ['train', 'test'] as const) {
      const rows = split === 'train' ? 200 : 100;
      const x = Float32Array.from({ length: rows * 784 }, (_, i) => ((i * 7) % 256) / 255);
      await writeFile(join(scaled, DATA_FILES[split].images), encodeIdx({ dtype: 'float', dims: [rows, 28, 28], data: x }));
      await writeFile(join(scaled, DATA_FILES[split].labels), encodeIdx({ dtype: 'ubyte', dims: [rows], data: new Uint8Array(rows) }));
    }
    const run = await runCli(['lint', fixture('keras3-to-json.json'), '--data', scaled, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonLines(run.stdout)).toContainEqual(expect.objectContaining({ type: 'finding', id: 'inputs-scaled-twice', severity: 'warning' }));
    // Raw pixels divided by 255 are what the model expects.
    const raw = await runCli(['lint', fixture('keras3-to-json.json'), '--data', data, '--json']);
    expect(jsonLines(raw.stdout).map((l) => l.id)).not.toContain('inputs-scaled-twice');
  });
});
