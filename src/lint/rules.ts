/**
 * The lint rules: the seed question's mistakes, caught before training. Keras trains
 * a softmax autoencoder on raw pixels with binary cross-entropy silently; corefit
 * says what is wrong, why, and what to change.
 */
import { outputSize, type Activation, type ModelSpec } from '../model/spec.js';
import type { Finding } from './findings.js';

/** What lint knows about the data; without it, the inputs are assumed to be 8-bit pixels. */
export interface DataStats {
  /** Where the numbers come from, for messages, e.g. "mnist training images". */
  readonly source: string;
  /** Smallest and largest input value, after the spec's scaling. */
  readonly min: number;
  readonly max: number;
  /** The targets' BCE floor (data/floor.ts) when computed; null when they have none. */
  readonly bceFloor?: number | null;
}

interface Range {
  readonly min: number;
  readonly max: number;
  /** How the range is known, for messages. */
  readonly how: string;
}

const PIXEL_MAX = 255;
/** Activations whose outputs lie in (0, 1). */
const UNIT_INTERVAL: readonly Activation[] = ['sigmoid', 'softmax'];
const USE_SIGMOID = 'Use "activation": "sigmoid" on the last layer.';
const NORMALIZE =
  'Normalize the inputs to [0, 1]: set "normalize": true in the spec\'s "input" (in a model.json: "corefit": { "normalize": true }), which divides pixels by 255.';

function num(v: number): string {
  return String(Number(v.toPrecision(4)));
}

function inputRange(spec: ModelSpec, data: DataStats | undefined): Range {
  if (data !== undefined) return { min: data.min, max: data.max, how: `measured on ${data.source}` };
  return spec.normalize
    ? { min: 0, max: 1, how: `assumed: 8-bit pixels ÷ ${PIXEL_MAX}` }
    : { min: 0, max: PIXEL_MAX, how: 'assumed: 8-bit pixels, "normalize": false' };
}

interface Context {
  readonly spec: ModelSpec;
  readonly output: Activation;
  readonly units: number;
  readonly bce: boolean;
  readonly reconstructs: boolean;
  readonly range: Range;
  readonly inUnitInterval: boolean;
  readonly data: DataStats | undefined;
}

type Rule = (c: Context) => Finding | undefined;

const RULES: readonly Rule[] = [
  ({ reconstructs, output, units, spec }) =>
    reconstructs && output === 'softmax'
      ? {
          id: 'softmax-reconstruction',
          severity: 'error',
          what: `The output layer is softmax, but the model reconstructs its ${units} inputs with ${spec.loss}.`,
          why: `Softmax makes the ${units} outputs sum to 1, so they cannot reproduce ${units} independent intensities.`,
          fix: USE_SIGMOID,
        }
      : undefined,

  ({ reconstructs, bce, inUnitInterval, range }) =>
    reconstructs && bce && !inUnitInterval
      ? {
          id: 'bce-targets-outside-0-1',
          severity: 'error',
          what: `binary_crossentropy gets targets from ${num(range.min)} to ${num(range.max)} (${range.how}), outside [0, 1].`,
          why: 'For a target y outside [0, 1], -y·ln p - (1-y)·ln(1-p) has no minimum at p = y and falls without bound towards p = 0 or 1, so the loss measures nothing.',
          fix: NORMALIZE,
        }
      : undefined,

  ({ reconstructs, output, inUnitInterval, range }) =>
    reconstructs && UNIT_INTERVAL.includes(output) && !inUnitInterval
      ? {
          id: 'output-cannot-reach-targets',
          severity: 'error',
          what: `The ${output} output lies in (0, 1), but the targets range from ${num(range.min)} to ${num(range.max)} (${range.how}).`,
          why: 'An output that cannot reach its targets keeps an error that no amount of training removes.',
          fix: NORMALIZE,
        }
      : undefined,

  ({ bce, output }) =>
    bce && !UNIT_INTERVAL.includes(output)
      ? {
          id: 'bce-output-not-probability',
          severity: 'error',
          what: `The output layer is ${output}, but binary_crossentropy needs outputs p in (0, 1).`,
          why: `${output} outputs can fall outside (0, 1), where ln p or ln(1 - p) is undefined: the loss gets clipped there and its gradient stops.`,
          fix: USE_SIGMOID,
        }
      : undefined,

  ({ spec, data }) =>
    // After ÷ 255 every input is at most 1/255: the data was already in [0, 1].
    spec.normalize && data !== undefined && data.max > 0 && data.max <= 1 / PIXEL_MAX + 1e-7
      ? {
          id: 'inputs-scaled-twice',
          severity: 'warning',
          what: `The inputs are divided by ${PIXEL_MAX}, but ${data.source} were already in [0, 1]: scaled, they range from ${num(data.min)} to ${num(data.max)}.`,
          why: 'Inputs scaled twice are all close to 0: the model sees nearly blank images and learns slowly, if at all.',
          fix: 'The data is scaled already: set "normalize": false in the spec\'s "input" (in a model.json: "corefit": { "normalize": false }).',
        }
      : undefined,

  ({ reconstructs, bce, inUnitInterval, data }) => {
    // Targets that are all 0 or 1 have a floor of 0: nothing to explain.
    if (!reconstructs || !bce || !inUnitInterval || data?.bceFloor === 0) return undefined;
    const value = typeof data?.bceFloor === 'number' ? `on ${data.source} it is ${data.bceFloor.toFixed(4)}` : 'corefit reports it as "floor"';
    return {
      id: 'bce-continuous-targets',
      severity: 'info',
      what: 'binary_crossentropy is used on grey-level targets in [0, 1], not only on 0 and 1.',
      why: `Per value the loss is smallest at p = y, where it equals the binary entropy H(y), so its floor is the targets' mean H(y), not 0: ${value}.`,
      fix: 'Nothing to fix: watch excess = loss − floor, which does go towards 0.',
    };
  },

  ({ spec, output, bce, units }) =>
    spec.target === 'label' && output === 'softmax' && bce && units > 1
      ? {
          id: 'softmax-bce-classifier',
          severity: 'warning',
          what: `The ${units}-class softmax classifier is trained with binary_crossentropy.`,
          why: 'BCE scores every output as an independent yes/no, while softmax makes the outputs compete for one class.',
          fix: 'Use "loss": "sparse_categorical_crossentropy" on class numbers (or categorical_crossentropy on one-hot targets).',
        }
      : undefined,

  ({ spec, reconstructs }) => {
    const hidden = spec.layers.slice(0, -1).map((l) => l.units);
    if (!reconstructs || hidden.length === 0) return undefined;
    const bottleneck = Math.min(...hidden);
    // "Not narrower" rather than "wider": an equally wide code can still copy its input.
    return bottleneck >= spec.inputSize
      ? {
          id: 'bottleneck-not-narrower',
          severity: 'warning',
          what: `The narrowest hidden layer has ${bottleneck} units, no fewer than the ${spec.inputSize} inputs.`,
          why: 'An autoencoder learns a useful code by squeezing its input through a narrower layer; this one can pass the input through unchanged.',
          fix: `Make a middle layer narrower than ${spec.inputSize} units (the default model's has 28).`,
        }
      : undefined;
  },
];

/** Judges a spec (and, when given, the data it will train on). Findings come in rule order. */
export function lintSpec(spec: ModelSpec, data?: DataStats): Finding[] {
  const range = inputRange(spec, data);
  const context: Context = {
    spec,
    output: spec.layers[spec.layers.length - 1].activation,
    units: outputSize(spec),
    bce: spec.loss === 'binary_crossentropy',
    reconstructs: spec.target === 'input',
    range,
    inUnitInterval: range.min >= 0 && range.max <= 1,
    data,
  };
  return RULES.map((rule) => rule(context)).filter((f): f is Finding => f !== undefined);
}
