import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { DEFAULT_SPEC, KERAS_ADAM, parseKerasModelJson, parseSpec } from '../src/model/spec.js';

const example = (name: string): unknown => JSON.parse(readFileSync(join(PACKAGE_ROOT, 'examples', name), 'utf8'));

/** A small valid spec in corefit's format; tests change one field at a time. */
const spec = (changes: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'tiny',
  input: { size: 8, normalize: true },
  layers: [
    { units: 3, activation: 'relu' },
    { units: 8, activation: 'sigmoid' },
  ],
  loss: 'binary_crossentropy',
  target: 'input',
  optimizer: 'adam',
  ...changes,
});

/** A tfjs-style model.json of a Sequential of Dense layers. */
const modelJson = (layers: unknown[], trainingConfig: unknown = { loss: 'binary_crossentropy' }): Record<string, unknown> => ({
  modelTopology: { class_name: 'Sequential', config: { name: 'seq', layers } },
  trainingConfig,
});
const dense = (units: unknown, activation: unknown, inputShape?: unknown[]): unknown => ({
  class_name: 'Dense',
  config: { units, activation, ...(inputShape === undefined ? {} : { batch_input_shape: inputShape }) },
});

function specError(parse: () => unknown, message: RegExp): SpecError {
  let caught: unknown;
  try {
    parse();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SpecError);
  expect((caught as SpecError).message).toMatch(message);
  return caught as SpecError;
}

describe('parseSpec', () => {
  it('reads the examples', () => {
    expect(parseSpec(example('seed-fixed.json'))).toEqual(DEFAULT_SPEC);
    const question = parseSpec(example('seed-question.json'));
    expect(question.normalize).toBe(false);
    expect(question.layers.map((l) => `${l.units} ${l.activation}`)).toEqual(['128 relu', '64 relu', '28 relu', '64 relu', '128 relu', '784 softmax']);
    expect([question.loss, question.target, question.optimizer]).toEqual(['binary_crossentropy', 'input', KERAS_ADAM]);
    const classifier = parseSpec(example('mnist-classifier.json'));
    expect([classifier.inputSize, classifier.loss, classifier.target]).toEqual([784, 'sparse_categorical_crossentropy', 'label']);
    expect(classifier.layers.map((l) => `${l.units} ${l.activation}`)).toEqual(['128 relu', '64 relu', '10 softmax']);
  });

  it('accepts Keras loss aliases and optimizer settings', () => {
    const parsed = parseSpec(spec({ loss: 'meanSquaredError', optimizer: { name: 'Adam', learning_rate: 0.01, beta_1: 0.8 } }));
    expect(parsed.loss).toBe('mse');
    expect(parsed.optimizer).toEqual({ ...KERAS_ADAM, learningRate: 0.01, beta1: 0.8 });
  });

  it('refuses unknown activations, naming the choices', () => {
    const error = specError(() => parseSpec(spec({ layers: [{ units: 8, activation: 'swish' }] })), /layers\[0\]: unknown activation "swish"/);
    expect(error.hint).toContain('sigmoid');
  });

  it('refuses unknown losses, also names of Object.prototype members', () => {
    for (const loss of ['hinge', 'constructor', 'toString', '__proto__', 42]) {
      specError(() => parseSpec(spec({ loss })), /unknown loss/);
    }
  });

  it.each([0, -3, 1.5, '8', null])('refuses %j as a size', (size) => {
    specError(() => parseSpec(spec({ input: { size } })), /input size must be a positive whole number/);
    specError(
      () =>
        parseSpec(
          spec({
            layers: [
              { units: size, activation: 'relu' },
              { units: 8, activation: 'sigmoid' },
            ],
          }),
        ),
      /layers\[0\]\.units must be a positive whole number/,
    );
  });

  it('refuses malformed specs with a message naming the field', () => {
    specError(() => parseSpec([1, 2]), /expected a JSON object/);
    specError(() => parseSpec(spec({ layers: 'dense' })), /"layers" must be an array/);
    specError(() => parseSpec(spec({ layers: [] })), /no layers/);
    specError(() => parseSpec(spec({ layers: [{ type: 'conv2d', units: 8 }] })), /layers\[0\] has type "conv2d"/);
    specError(() => parseSpec(spec({ input: { size: 8, normalize: 'yes' } })), /"normalize" must be true or false/);
    specError(
      () =>
        parseSpec(
          spec({
            layers: [
              { units: 8, activation: 'softmax' },
              { units: 8, activation: 'sigmoid' },
            ],
          }),
        ),
      /softmax is only supported on the last layer/,
    );
    specError(() => parseSpec(spec({ layers: [{ units: 10, activation: 'sigmoid' }] })), /needs 8 units, not 10/);
    specError(() => parseSpec(spec({ target: 'label' })), /target "label" needs categorical_crossentropy/);
    specError(() => parseSpec(spec({ target: 'pixels' })), /"target" must be "input" or "label"/);
    specError(() => parseSpec(spec({ optimizer: 'sgd' })), /optimizer must be "adam" or an object/);
    specError(() => parseSpec(spec({ optimizer: { name: 'sgd' } })), /optimizer "sgd" is not supported/);
    specError(() => parseSpec(spec({ optimizer: { learning_rate: -1 } })), /learning_rate must be a number > 0/);
    specError(() => parseSpec(spec({ optimizer: { beta_2: 1 } })), /beta_2 must be in \[0, 1\)/);
  });

  it('names the source in its messages', () => {
    specError(() => parseSpec(spec({ loss: 'hinge' }), 'my-spec.json'), /^my-spec\.json: loss: unknown loss "hinge"$/);
  });
});

describe('parseKerasModelJson', () => {
  const layers = [dense(3, 'relu', [null, 8]), dense(8, 'sigmoid')];

  it('reads a Sequential of Dense layers, also through parseSpec', () => {
    const json = modelJson(layers, { loss: 'binary_crossentropy', optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.002 } } });
    const parsed = parseKerasModelJson(json);
    expect(parsed).toEqual({
      name: 'seq',
      inputSize: 8,
      normalize: true,
      layers: [
        { units: 3, activation: 'relu' },
        { units: 8, activation: 'sigmoid' },
      ],
      loss: 'binary_crossentropy',
      target: 'input',
      optimizer: { ...KERAS_ADAM, learningRate: 0.002 },
    });
    expect(parseSpec(json)).toEqual(parsed);
  });

  it('reads Keras model_config / training_config and an InputLayer', () => {
    const parsed = parseKerasModelJson({
      modelTopology: {
        model_config: {
          class_name: 'Sequential',
          config: { name: 'k', layers: [{ class_name: 'InputLayer', config: { batch_input_shape: [null, 8] } }, dense(10, 'softmax')] },
        },
        training_config: { loss: 'sparse_categorical_crossentropy' },
      },
    });
    expect([parsed.inputSize, parsed.target, parsed.layers.length]).toEqual([8, 'label', 1]);
  });

  it('refuses what is not a Sequential of Dense layers with known activations and losses', () => {
    specError(() => parseKerasModelJson({ modelTopology: 'x' }), /"modelTopology" must be an object/);
    specError(() => parseKerasModelJson({ modelTopology: { class_name: 'Model', config: {} } }), /model class "Model" is not supported/);
    specError(() => parseKerasModelJson(modelJson([])), /has no layers/);
    specError(() => parseKerasModelJson(modelJson([{ class_name: 'Conv2D', config: {} }])), /layer 0 Conv2D is not Dense/);
    specError(() => parseKerasModelJson(modelJson(['dense'])), /layer 0 is malformed/);
    specError(() => parseKerasModelJson(modelJson([dense(3, 'gelu', [null, 8]), dense(8, 'sigmoid')])), /layer 0 \(Dense\): unknown activation "gelu"/);
    specError(() => parseKerasModelJson(modelJson(layers, { loss: 'poisson' })), /unknown loss "poisson"/);
    specError(
      () => parseKerasModelJson(modelJson([dense(0, 'relu', [null, 8]), dense(8, 'sigmoid')])),
      /layer 0 \(Dense\): units must be a positive whole number/,
    );
    specError(
      () => parseKerasModelJson(modelJson([dense(3, 'relu', [null, -8]), dense(8, 'sigmoid')])),
      /layer 0 \(Dense\): the input shape \[null,-8\] must be \[null, n\] with n a positive whole number/,
    );
    specError(() => parseKerasModelJson(modelJson([dense(3, 'relu'), dense(8, 'sigmoid')])), /the input size is not recorded/);
  });
});
