/**
 * The reference engine: the model built with tfjs-layers, its loss taken from
 * tfjs-layers itself and its gradients from tf.variableGrads. The native engine is
 * tested against it, so it is written for plain correctness, not speed: every call
 * copies the flat parameters into the layers' variables and the rows into a tensor.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { EngineError } from '../errors.js';
import { paramLayout } from '../model/layout.js';
import { isClassLoss, validateSpec, type LossName, type ModelSpec } from '../model/spec.js';
import { reduceAdam } from '../optim/adam.js';
import { meanGradientSumOfSquares } from '../optim/reduce.js';
import type { Engine, EngineData } from './engine.js';
import { selectTfjsBackend, type TfjsBackendChoice } from './tfjs-backend.js';

export interface TfjsEngine extends Engine {
  readonly name: 'tfjs';
  /** Why a faster tfjs backend was passed over, and how to get it (print once per run). */
  readonly note?: string;
}

/** The tfjs-layers loss identifiers, the names `compile` understands. */
const TFJS_LOSS: Readonly<Record<LossName, string>> = {
  binary_crossentropy: 'binaryCrossentropy',
  mse: 'meanSquaredError',
  mae: 'meanAbsoluteError',
  categorical_crossentropy: 'categoricalCrossentropy',
  sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
};

/** One weight of the model and where it lives in the flat buffer. */
interface WeightSlot {
  readonly variable: tfjs.Variable;
  readonly offset: number;
  readonly size: number;
  readonly shape: [number] | [number, number];
}

export async function createTfjsEngine(spec: ModelSpec, maxRows: number, backend: TfjsBackendChoice = 'auto'): Promise<TfjsEngine> {
  validateSpec(spec);
  if (!Number.isInteger(maxRows) || maxRows <= 0) throw new EngineError(`maxRows must be a positive whole number, got ${maxRows}`);
  const selected = await selectTfjsBackend(backend);
  const { tf } = selected;
  const layout = paramLayout(spec);
  const outputUnits = layout.layers[layout.layers.length - 1].units;

  // A functional model rather than tf.sequential: only a LayersModel exposes the loss
  // functions that compile() resolves.
  const input = tf.input({ shape: [spec.inputSize] });
  const dense = spec.layers.map((l) => tf.layers.dense({ units: l.units, activation: l.activation }));
  const output = dense.reduce((h, layer) => layer.apply(h) as tfjs.SymbolicTensor, input);
  const model = tf.model({ inputs: input, outputs: output });
  // compile() is how tfjs-layers turns a loss name into its loss function (per-row
  // reduction, epsilon clipping); the optimizer it asks for is never used.
  model.compile({ optimizer: 'sgd', loss: TFJS_LOSS[spec.loss] });
  const lossFn = model.lossFunctions[0];

  const weights: WeightSlot[] = dense.flatMap((layer, i) => {
    const { inputs, units, kernelOffset, biasOffset } = layout.layers[i];
    // tfjs-layers keeps each Dense layer's [kernel, bias] in this order, as the layout does.
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tfjs.Variable);
    return [
      { variable: kernel, offset: kernelOffset, size: inputs * units, shape: [inputs, units] },
      { variable: bias, offset: biasOffset, size: units, shape: [units] },
    ];
  });
  const variables = weights.map((w) => w.variable);

  const checkCall = (params: Float32Array, data: EngineData, rows: Int32Array): void => {
    // The backend is global to the thread: another engine may have switched it.
    if (tf.getBackend() !== selected.backend) {
      throw new EngineError(
        `the tfjs backend of this thread changed from ${selected.backend} to ${tf.getBackend()} after the engine was built`,
        'Build one tfjs engine per thread, or dispose it before selecting another backend.',
      );
    }
    if (params.length !== layout.size) throw new EngineError(`params hold ${params.length} floats, the model has ${layout.size}`);
    if (data.features !== spec.inputSize) throw new EngineError(`the data rows have ${data.features} features, the model takes ${spec.inputSize}`);
    if (rows.length > maxRows) throw new EngineError(`${rows.length} rows exceed the engine's maxRows ${maxRows}`);
    const dataRows = Math.floor(data.x.length / data.features);
    for (const r of rows) {
      if (r < 0 || r >= dataRows) throw new EngineError(`row index ${r} is outside the data's ${dataRows} rows`);
      if (isClassLoss(spec.loss) && !(r < data.labels.length && data.labels[r] < outputUnits)) {
        throw new EngineError(`row ${r} has label ${data.labels[r]}, but the model has ${outputUnits} classes`);
      }
    }
  };

  /** Copies params into the variables; inside tidy, so the temporary tensors are freed. */
  const loadParams = (params: Float32Array): void => {
    // slice(): a copy, so no tensor aliases the shared buffer that Adam updates in place.
    for (const w of weights) w.variable.assign(tf.tensor(params.slice(w.offset, w.offset + w.size), w.shape));
  };

  const inputs = (data: EngineData, rows: Int32Array): tfjs.Tensor2D => {
    const f = data.features;
    const x = new Float32Array(rows.length * f);
    rows.forEach((r, i) => x.set(data.x.subarray(r * f, (r + 1) * f), i * f));
    return tf.tensor2d(x, [rows.length, f]);
  };

  const targets = (data: EngineData, rows: Int32Array, x: tfjs.Tensor2D): tfjs.Tensor => {
    if (spec.target === 'input') return x;
    const labels = Int32Array.from(rows, (r) => data.labels[r]);
    if (spec.loss === 'categorical_crossentropy') return tf.oneHot(tf.tensor1d(labels, 'int32'), outputUnits);
    return tf.tensor1d(Float32Array.from(labels));
  };

  /** Σ over rows of tfjs-layers' per-row loss, as a scalar tensor. */
  const lossSumTensor = (data: EngineData, rows: Int32Array): tfjs.Scalar => {
    const x = inputs(data, rows);
    return tf.sum(lossFn(targets(data, rows, x), model.apply(x) as tfjs.Tensor));
  };

  return {
    name: 'tfjs',
    backend: selected.backend,
    ...(selected.note === undefined ? {} : { note: selected.note }),
    spec,
    maxRows,

    gradients(params, data, rows, grad, accumulate) {
      checkCall(params, data, rows);
      if (grad.length !== layout.size) throw new EngineError(`grad holds ${grad.length} floats, the model has ${layout.size}`);
      return tf.tidy(() => {
        loadParams(params);
        const { value, grads } = tf.variableGrads(() => lossSumTensor(data, rows), variables);
        for (const w of weights) {
          const g = grads[w.variable.name].dataSync();
          if (accumulate) for (let i = 0; i < w.size; i++) grad[w.offset + i] += g[i];
          else grad.set(g, w.offset);
        }
        return value.dataSync()[0];
      });
    },

    lossSum(params, data, rows) {
      checkCall(params, data, rows);
      return tf.tidy(() => {
        loadParams(params);
        return lossSumTensor(data, rows).dataSync()[0];
      });
    },

    predict(params, data, rows, out, layer = -1) {
      checkCall(params, data, rows);
      const last = layer < 0 ? spec.layers.length - 1 : layer;
      if (!Number.isInteger(last) || last >= spec.layers.length) {
        throw new EngineError(`layer ${layer} does not exist; the model has layers 0 to ${spec.layers.length - 1}`);
      }
      const units = spec.layers[last].units;
      if (out.length < rows.length * units) throw new EngineError(`out holds ${out.length} floats, ${rows.length} rows × ${units} units need more`);
      tf.tidy(() => {
        loadParams(params);
        let h: tfjs.Tensor = inputs(data, rows);
        for (const layer of dense.slice(0, last + 1)) h = layer.apply(h) as tfjs.Tensor;
        out.set(h.dataSync());
      });
    },

    gradientSumOfSquares: (slots, slotCount, size, begin, end, rows) => meanGradientSumOfSquares(slots, slotCount, size, begin, end, 1 / rows),

    reduceAdam,

    dispose() {
      model.dispose();
    },
  };
}
