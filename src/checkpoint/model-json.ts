/**
 * A checkpoint's model.json: the tfjs LayersModel format (what `model.save()` writes
 * and `tf.loadLayersModel` reads), describing a Keras Sequential of Dense layers whose
 * weights are one file, weights.bin, in the flat parameter layout.
 */
import { paramLayout } from '../model/layout.js';
import type { LossName, ModelSpec } from '../model/spec.js';

export const WEIGHTS_FILE = 'weights.bin';

/** Keras's names: tfjs turns them into its own when it loads the training config. */
const KERAS_LOSS: Readonly<Record<LossName, string>> = {
  binary_crossentropy: 'binary_crossentropy',
  mse: 'mean_squared_error',
  mae: 'mean_absolute_error',
  categorical_crossentropy: 'categorical_crossentropy',
  sparse_categorical_crossentropy: 'sparse_categorical_crossentropy',
};

export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32';
}

/** The weights of the model in layout order, named as tfjs names the Dense layers' variables. */
export function weightEntries(spec: ModelSpec): WeightEntry[] {
  return paramLayout(spec).layers.flatMap((l, i) => [
    { name: `dense_${i + 1}/kernel`, shape: [l.inputs, l.units], dtype: 'float32' as const },
    { name: `dense_${i + 1}/bias`, shape: [l.units], dtype: 'float32' as const },
  ]);
}

export function modelJson(spec: ModelSpec): Record<string, unknown> {
  const layers = spec.layers.map((l, i) => ({
    class_name: 'Dense',
    config: {
      name: `dense_${i + 1}`,
      trainable: true,
      ...(i === 0 ? { batch_input_shape: [null, spec.inputSize] } : {}),
      dtype: 'float32',
      units: l.units,
      activation: l.activation,
      use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
  }));
  const { learningRate, beta1, beta2, epsilon } = spec.optimizer;
  return {
    format: 'layers-model',
    generatedBy: 'corefit',
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: spec.name, layers } },
    trainingConfig: {
      loss: KERAS_LOSS[spec.loss],
      metrics: [],
      optimizer_config: { class_name: 'Adam', config: { learningRate, beta1, beta2, epsilon } },
    },
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightEntries(spec) }],
    // Not part of the tfjs format (tfjs ignores it); parseKerasModelJson reads it back.
    corefit: { normalize: spec.normalize },
  };
}

/** Why the manifest does not describe weights.bin as the flat layout of `spec`, or undefined when it does. */
export function manifestProblem(json: Record<string, unknown>, spec: ModelSpec): string | undefined {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest) || manifest.length !== 1) return 'weightsManifest must hold exactly one group';
  const group = manifest[0] as { paths?: unknown; weights?: unknown };
  if (JSON.stringify(group.paths) !== JSON.stringify([WEIGHTS_FILE])) return `weightsManifest paths must be ["${WEIGHTS_FILE}"]`;
  const expected = weightEntries(spec);
  const given = Array.isArray(group.weights) ? (group.weights as Partial<WeightEntry>[]) : [];
  if (given.length !== expected.length) return `weightsManifest lists ${given.length} weights, the model has ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const w = given[i];
    if (w.dtype !== 'float32' || JSON.stringify(w.shape) !== JSON.stringify(expected[i].shape)) {
      return `weightsManifest entry ${i} (${String(w.name)}) is ${String(w.dtype)} ${JSON.stringify(w.shape)}, the model needs float32 ${JSON.stringify(expected[i].shape)}`;
    }
  }
  return undefined;
}
