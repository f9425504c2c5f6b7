/**
 * The model spec: a Keras-like description of a Sequential stack of Dense layers,
 * its loss, its target and its optimizer. Everything else (layout, engines, lint)
 * reads this normalized form.
 */
import { SpecError } from '../errors.js';

export const ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'elu', 'softmax'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const LOSSES = [
  'binary_crossentropy',
  'mse',
  'mae',
  'categorical_crossentropy',
  'sparse_categorical_crossentropy',
] as const;
export type LossName = (typeof LOSSES)[number];

/** What the network is asked to output: its own input (autoencoder) or the label (classifier). */
export type Target = 'input' | 'label';

export interface DenseLayer {
  readonly units: number;
  readonly activation: Activation;
}

/** Adam with Keras/tfjs names and defaults. */
export interface AdamConfig {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export interface ModelSpec {
  readonly name: string;
  readonly inputSize: number;
  /** Divide raw pixels by 255 when loading (the seed question's missing step when false). */
  readonly normalize: boolean;
  readonly layers: readonly DenseLayer[];
  readonly loss: LossName;
  readonly target: Target;
  readonly optimizer: AdamConfig;
}

export const KERAS_ADAM: AdamConfig = { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/** The seed question's architecture with its fix: sigmoid output, BCE, pixels / 255. */
export const DEFAULT_SPEC: ModelSpec = {
  name: 'mnist-autoencoder',
  inputSize: 784,
  normalize: true,
  layers: [
    { units: 128, activation: 'relu' },
    { units: 64, activation: 'relu' },
    { units: 28, activation: 'relu' },
    { units: 64, activation: 'relu' },
    { units: 128, activation: 'relu' },
    { units: 784, activation: 'sigmoid' },
  ],
  loss: 'binary_crossentropy',
  target: 'input',
  optimizer: KERAS_ADAM,
};

export function outputSize(spec: ModelSpec): number {
  return spec.layers[spec.layers.length - 1].units;
}

/** Losses whose target is a class: they pair with softmax and read the label file. */
export function isClassLoss(loss: LossName): boolean {
  return loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy';
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new SpecError(`${where} must be a positive whole number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function activation(v: unknown, where: string): Activation {
  const name = v === undefined ? 'linear' : v;
  if (typeof name !== 'string' || !(ACTIVATIONS as readonly string[]).includes(name)) {
    throw new SpecError(
      `${where}: unknown activation ${JSON.stringify(v)}`,
      `Use one of: ${ACTIVATIONS.join(', ')}.`,
    );
  }
  return name as Activation;
}

const LOSS_ALIASES: Record<string, LossName> = {
  binary_crossentropy: 'binary_crossentropy',
  binaryCrossentropy: 'binary_crossentropy',
  mse: 'mse',
  mean_squared_error: 'mse',
  meanSquaredError: 'mse',
  mae: 'mae',
  mean_absolute_error: 'mae',
  meanAbsoluteError: 'mae',
  categorical_crossentropy: 'categorical_crossentropy',
  categoricalCrossentropy: 'categorical_crossentropy',
  sparse_categorical_crossentropy: 'sparse_categorical_crossentropy',
  sparseCategoricalCrossentropy: 'sparse_categorical_crossentropy',
};

function loss(v: unknown, where: string): LossName {
  // hasOwn: a plain lookup would accept "constructor" or "toString" from Object.prototype.
  const name = typeof v === 'string' && Object.hasOwn(LOSS_ALIASES, v) ? LOSS_ALIASES[v] : undefined;
  if (name === undefined) {
    throw new SpecError(`${where}: unknown loss ${JSON.stringify(v)}`, `Use one of: ${LOSSES.join(', ')}.`);
  }
  return name;
}

function finiteNumber(v: unknown, fallback: number, where: string, test: (x: number) => boolean, rule: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !test(v)) {
    throw new SpecError(`${where} must be ${rule}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function adam(v: unknown, where: string): AdamConfig {
  if (v === undefined || v === 'adam') return KERAS_ADAM;
  if (!isObject(v)) throw new SpecError(`${where} must be "adam" or an object, got ${JSON.stringify(v)}`);
  const name = v.name ?? v.class_name ?? 'adam';
  if (typeof name !== 'string' || name.toLowerCase() !== 'adam') {
    throw new SpecError(`${where}: optimizer ${JSON.stringify(name)} is not supported`, 'corefit trains with Adam.');
  }
  const c: Json = isObject(v.config) ? v.config : v;
  const lr = c.learning_rate ?? c.learningRate ?? c.lr;
  return {
    learningRate: finiteNumber(lr, KERAS_ADAM.learningRate, `${where}.learning_rate`, (x) => x > 0, 'a number > 0'),
    beta1: finiteNumber(c.beta_1 ?? c.beta1, KERAS_ADAM.beta1, `${where}.beta_1`, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    beta2: finiteNumber(c.beta_2 ?? c.beta2, KERAS_ADAM.beta2, `${where}.beta_2`, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    epsilon: finiteNumber(c.epsilon, KERAS_ADAM.epsilon, `${where}.epsilon`, (x) => x > 0, 'a number > 0'),
  };
}

/** Checks the cross-field rules every engine relies on. */
export function validateSpec(spec: ModelSpec): ModelSpec {
  positiveInt(spec.inputSize, 'input size');
  if (spec.layers.length === 0) throw new SpecError('the model has no layers', 'Add at least one Dense layer.');
  spec.layers.forEach((l, i) => {
    positiveInt(l.units, `layers[${i}].units`);
    activation(l.activation, `layers[${i}]`);
    if (l.activation === 'softmax' && i !== spec.layers.length - 1) {
      throw new SpecError(`layers[${i}]: softmax is only supported on the last layer`);
    }
  });
  if (spec.target === 'input' && outputSize(spec) !== spec.inputSize) {
    throw new SpecError(
      `the model reconstructs its input, so its last layer needs ${spec.inputSize} units, not ${outputSize(spec)}`,
      'Make the last Dense layer as wide as the input, or train on labels with a classification loss.',
    );
  }
  if (spec.target === 'label' && !isClassLoss(spec.loss)) {
    throw new SpecError(
      `target "label" needs categorical_crossentropy or sparse_categorical_crossentropy, not ${spec.loss}`,
      'A classifier picks one class of many: use a softmax output with sparse_categorical_crossentropy (the label file holds class numbers) or categorical_crossentropy.',
    );
  }
  if (spec.target === 'input' && isClassLoss(spec.loss)) {
    throw new SpecError(`${spec.loss} needs class labels as the target`, 'Set "target": "label".');
  }
  return spec;
}

/** Reads corefit's own JSON spec format (see examples/). */
export function parseSpec(json: unknown, source = 'spec'): ModelSpec {
  if (!isObject(json)) throw new SpecError(`${source}: expected a JSON object`);
  if ('modelTopology' in json) return parseKerasModelJson(json, source);
  const input = json.input;
  const inputSize = isObject(input) ? input.size : json.inputSize ?? json.input_size;
  const normalize = isObject(input) ? input.normalize : json.normalize;
  if (normalize !== undefined && typeof normalize !== 'boolean') {
    throw new SpecError(`${source}: "normalize" must be true or false`);
  }
  if (!Array.isArray(json.layers)) throw new SpecError(`${source}: "layers" must be an array of Dense layers`);
  const layers = json.layers.map((l: unknown, i: number): DenseLayer => {
    if (!isObject(l)) throw new SpecError(`${source}: layers[${i}] must be an object`);
    const type = l.type ?? 'dense';
    if (typeof type !== 'string' || type.toLowerCase() !== 'dense') {
      throw new SpecError(`${source}: layers[${i}] has type ${JSON.stringify(type)}`, 'Only Dense layers are supported.');
    }
    return { units: positiveInt(l.units, `${source}: layers[${i}].units`), activation: activation(l.activation, `${source}: layers[${i}]`) };
  });
  const lossName = loss(json.loss ?? 'binary_crossentropy', `${source}: loss`);
  const target = json.target ?? (isClassLoss(lossName) ? 'label' : 'input');
  if (target !== 'input' && target !== 'label') {
    throw new SpecError(`${source}: "target" must be "input" or "label", got ${JSON.stringify(target)}`);
  }
  return validateSpec({
    name: typeof json.name === 'string' ? json.name : 'model',
    inputSize: positiveInt(inputSize, `${source}: input size`),
    normalize: normalize ?? true,
    layers,
    loss: lossName,
    target,
    optimizer: adam(json.optimizer, `${source}: optimizer`),
  });
}

/** Reads a tfjs/Keras `model.json` holding a Sequential of Dense layers. */
export function parseKerasModelJson(json: Json, source = 'model.json'): ModelSpec {
  const topology = json.modelTopology;
  if (!isObject(topology)) throw new SpecError(`${source}: "modelTopology" must be an object`);
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  if (model.class_name !== 'Sequential') {
    throw new SpecError(`${source}: model class ${JSON.stringify(model.class_name)} is not supported`, 'Only Sequential models of Dense layers are supported.');
  }
  const config = model.config;
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) throw new SpecError(`${source}: the Sequential model has no layers`);
  let inputSize: unknown;
  const layers: DenseLayer[] = [];
  rawLayers.forEach((l: unknown, i: number) => {
    if (!isObject(l) || !isObject(l.config)) throw new SpecError(`${source}: layer ${i} is malformed`);
    const shape = l.config.batch_input_shape ?? l.config.batchInputShape;
    if (l.class_name === 'InputLayer') {
      if (Array.isArray(shape)) inputSize = shape[1];
      return;
    }
    if (l.class_name !== 'Dense') {
      throw new SpecError(`${source}: layer ${i} is ${JSON.stringify(l.class_name)}`, 'Only Dense layers are supported.');
    }
    if (layers.length === 0 && inputSize === undefined && Array.isArray(shape)) inputSize = shape[1];
    layers.push({ units: positiveInt(l.config.units, `${source}: layer ${i} units`), activation: activation(l.config.activation, `${source}: layer ${i}`) });
  });
  const training = isObject(topology.training_config) ? topology.training_config : isObject(json.trainingConfig) ? json.trainingConfig : {};
  const lossName = loss(training.loss ?? 'binary_crossentropy', `${source}: training_config.loss`);
  const corefit = isObject(json.corefit) ? json.corefit : {};
  return validateSpec({
    name: typeof model.config === 'object' && isObject(model.config) && typeof model.config.name === 'string' ? model.config.name : 'model',
    inputSize: positiveInt(inputSize, `${source}: batch_input_shape[1] of the first layer`),
    normalize: typeof corefit.normalize === 'boolean' ? corefit.normalize : true,
    layers,
    loss: lossName,
    target: isClassLoss(lossName) ? 'label' : 'input',
    optimizer: adam(training.optimizer_config, `${source}: training_config.optimizer_config`),
  });
}
