/**
 * The model spec: a Keras-like description of a Sequential stack of Dense layers,
 * its loss, its target and its optimizer. Everything else (layout, engines, lint)
 * reads this normalized form.
 */
import { SpecError } from '../errors.js';

export const ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'elu', 'softmax'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const LOSSES = ['binary_crossentropy', 'mse', 'mae', 'categorical_crossentropy', 'sparse_categorical_crossentropy'] as const;
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
    throw new SpecError(`${where}: unknown activation ${JSON.stringify(v)}`, `Use one of: ${ACTIVATIONS.join(', ')}.`);
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
  // Keras's loss classes, as Keras 3 serializes a loss object.
  BinaryCrossentropy: 'binary_crossentropy',
  MeanSquaredError: 'mse',
  MeanAbsoluteError: 'mae',
  CategoricalCrossentropy: 'categorical_crossentropy',
  SparseCategoricalCrossentropy: 'sparse_categorical_crossentropy',
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
  if ('modelTopology' in json || 'class_name' in json) return parseKerasModelJson(json, source);
  const input = json.input;
  const inputSize = isObject(input) ? input.size : (json.inputSize ?? json.input_size);
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

/**
 * Reads Keras's own JSON of a Sequential of Dense layers, as each version writes it:
 * - `model.to_json()` and `get_config()`: `{"class_name": "Sequential", "config": {"layers": [...]}}`,
 *   Keras 2 (InputLayer `batch_input_shape`, dtype a string) and Keras 3 (`module`,
 *   `registered_name`, `build_config`, InputLayer `batch_shape`, dtype a DTypePolicy);
 * - the `config.json` inside a `.keras` file: Keras 3's form, with `compile_config`
 *   (loss and optimizer);
 * - tfjs's `model.json`: the same under `modelTopology` (Keras's converter adds
 *   `model_config` and `training_config`; tfjs's own `save()` puts `trainingConfig` beside it).
 * A leading Flatten (of 28 × 28 images, say) is what corefit does to every image anyway.
 */
export function parseKerasModelJson(json: Json, source = 'model.json'): ModelSpec {
  const wrapped = 'modelTopology' in json;
  const topology = wrapped ? json.modelTopology : json;
  if (!isObject(topology)) throw new SpecError(`${source}: "modelTopology" must be an object`);
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  if (model.class_name !== 'Sequential') {
    throw new SpecError(
      `${source}: model class ${JSON.stringify(model.class_name)} is not supported`,
      'corefit trains a Sequential of Dense layers (keras.Sequential([keras.Input((784,)), keras.layers.Dense(...), ...])).',
    );
  }
  const config = model.config;
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) throw new SpecError(`${source}: the Sequential model has no layers`);
  const { inputShape, layers } = kerasLayers(rawLayers, source);
  const shape =
    inputShape ??
    firstShape([isObject(config) ? config.build_input_shape : undefined, isObject(model.build_config) ? model.build_config.input_shape : undefined]);
  if (shape === undefined) {
    throw new SpecError(
      `${source}: the input size is not recorded`,
      'Give the model an input shape in Keras (keras.Input((784,)) as its first layer) before saving it.',
    );
  }
  const training = [topology.training_config, json.trainingConfig, model.compile_config].find(isObject) ?? {};
  const corefit = isObject(json.corefit) ? json.corefit : {};
  const lossName = loss(kerasLossName(training.loss, `${source}: loss`) ?? 'binary_crossentropy', `${source}: loss`);
  return validateSpec({
    name: isObject(config) && typeof config.name === 'string' ? config.name : 'model',
    inputSize: positiveInt(shape, `${source}: the input size`),
    normalize: typeof corefit.normalize === 'boolean' ? corefit.normalize : true,
    layers,
    loss: lossName,
    target: isClassLoss(lossName) ? 'label' : 'input',
    optimizer: adam(training.optimizer_config ?? training.optimizer, `${source}: optimizer`),
  });
}

/** True for Keras/tfjs JSON that does not say how its inputs are scaled (corefit's own field, "corefit": {"normalize": ...}, is absent). */
export function inputScalingUnsaid(json: unknown): boolean {
  return isObject(json) && ('modelTopology' in json || 'class_name' in json) && !(isObject(json.corefit) && typeof json.corefit.normalize === 'boolean');
}

/** The values per input row of a batch shape such as [null, 784] or [null, 28, 28]; undefined when it is not one. */
function rowSize(shape: unknown): number | undefined {
  if (!Array.isArray(shape) || shape.length < 2) return undefined;
  const dims = shape.slice(1);
  return dims.every((d) => typeof d === 'number' && Number.isInteger(d) && d > 0) ? dims.reduce((a: number, b: number) => a * b, 1) : undefined;
}

function firstShape(shapes: readonly unknown[]): number | undefined {
  for (const shape of shapes) {
    const size = rowSize(shape);
    if (size !== undefined) return size;
  }
  return undefined;
}

/** An input of more than one dimension must be flattened first, as corefit flattens images. */
function flatInput(shape: unknown, flattened: boolean, where: string): number | undefined {
  const size = rowSize(shape);
  if (shape !== undefined && shape !== null && size === undefined) {
    throw new SpecError(`${where}: the input shape ${JSON.stringify(shape)} must be [null, n] with n a positive whole number`);
  }
  if (size !== undefined && (shape as unknown[]).length > 2 && !flattened) {
    throw new SpecError(
      `${where}: the input shape ${JSON.stringify(shape)} is not flat`,
      'Put a Flatten layer first, or give the input shape (rows × columns, e.g. 784) as one number.',
    );
  }
  return size;
}

function kerasLayers(rawLayers: readonly unknown[], source: string): { inputShape: number | undefined; layers: DenseLayer[] } {
  let inputShape: number | undefined;
  let pendingShape: unknown;
  const layers: DenseLayer[] = [];
  const unsupported: string[] = [];
  rawLayers.forEach((l: unknown, i: number) => {
    if (!isObject(l) || !isObject(l.config) || typeof l.class_name !== 'string') throw new SpecError(`${source}: layer ${i} is malformed`);
    const c = l.config;
    const where = `${source}: layer ${i} (${l.class_name}${typeof c.name === 'string' ? ` "${c.name}"` : ''})`;
    // Keras 3 writes batch_shape, Keras 2 batch_input_shape, tfjs batchInputShape.
    const shape = c.batch_shape ?? c.batch_input_shape ?? c.batchInputShape;
    if (l.class_name === 'InputLayer') {
      pendingShape = shape;
      return;
    }
    if (l.class_name === 'Flatten' && layers.length === 0) {
      inputShape = flatInput(shape ?? pendingShape ?? (isObject(l.build_config) ? l.build_config.input_shape : undefined), true, where);
      pendingShape = undefined;
      return;
    }
    if (l.class_name !== 'Dense') {
      unsupported.push(`${i} ${l.class_name}${typeof c.name === 'string' ? ` "${c.name}"` : ''}`);
      return;
    }
    if (layers.length === 0 && inputShape === undefined) {
      inputShape = flatInput(shape ?? pendingShape ?? (isObject(l.build_config) ? l.build_config.input_shape : undefined), false, where);
    }
    if (c.use_bias === false) throw new SpecError(`${where}: a Dense layer without a bias is not supported`, 'Set use_bias=True (the default).');
    layers.push({ units: positiveInt(c.units, `${where}: units`), activation: activation(c.activation, where) });
  });
  if (unsupported.length > 0) {
    throw new SpecError(
      `${source}: layer${unsupported.length === 1 ? '' : 's'} ${unsupported.join(', ')} ${unsupported.length === 1 ? 'is' : 'are'} not Dense`,
      'corefit trains Sequential stacks of Dense layers (an InputLayer and a leading Flatten may come first); remove the other layers, or train this model in Keras.',
    );
  }
  return { inputShape, layers };
}

/** Keras 3 may store the loss as a serialized object, e.g. {"class_name": "BinaryCrossentropy", "config": {...}}. */
function kerasLossName(v: unknown, where: string): unknown {
  if (!isObject(v)) return v ?? undefined;
  if (isObject(v.config) && v.config.from_logits === true) {
    throw new SpecError(
      `${where}: a loss with from_logits=True is not supported`,
      'Put the sigmoid or softmax on the last Dense layer and use the loss without from_logits.',
    );
  }
  return v.class_name;
}
