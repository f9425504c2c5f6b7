/**
 * Property-based tests of the spec and model.json parsers: any JSON value, and any
 * valid spec with one field replaced or removed, gives a SpecError or a spec that
 * every engine can rely on, never another exception. Runs are bounded (numRuns).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../src/errors.js';
import { ACTIVATIONS, LOSSES, parseKerasModelJson, parseSpec, validateSpec, type ModelSpec } from '../src/model/spec.js';

const RUNS = 500;

function expectValid(spec: ModelSpec): void {
  expect(Number.isInteger(spec.inputSize) && spec.inputSize > 0).toBe(true);
  expect(typeof spec.name).toBe('string');
  expect(typeof spec.normalize).toBe('boolean');
  expect(spec.layers.length).toBeGreaterThan(0);
  for (const layer of spec.layers) {
    expect(Number.isInteger(layer.units) && layer.units > 0).toBe(true);
    expect(ACTIVATIONS).toContain(layer.activation);
  }
  expect(LOSSES).toContain(spec.loss);
  expect(['input', 'label']).toContain(spec.target);
  for (const v of Object.values(spec.optimizer)) expect(Number.isFinite(v)).toBe(true);
  expect(validateSpec(spec)).toBe(spec);
}

/** Parses; a SpecError is a fine answer, a spec must be valid, anything else fails the property. */
function check(parse: () => ModelSpec): void {
  let spec: ModelSpec;
  try {
    spec = parse();
  } catch (error) {
    if (error instanceof SpecError) return;
    throw error;
  }
  expectValid(spec);
}

const VALID_SPEC = {
  name: 'tiny',
  input: { size: 8, normalize: true },
  layers: [
    { units: 3, activation: 'relu' },
    { units: 8, activation: 'sigmoid' },
  ],
  loss: 'binary_crossentropy',
  target: 'input',
  optimizer: { name: 'adam', learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 },
};

const VALID_MODEL_JSON = {
  modelTopology: {
    class_name: 'Sequential',
    config: {
      name: 'seq',
      layers: [
        { class_name: 'Dense', config: { units: 3, activation: 'relu', batch_input_shape: [null, 8] } },
        { class_name: 'Dense', config: { units: 8, activation: 'sigmoid' } },
      ],
    },
  },
  trainingConfig: { loss: 'binary_crossentropy', optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001 } } },
  corefit: { normalize: true },
};

/** Every path to a value inside a JSON value, e.g. ['layers', 0, 'units']. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k]))];
}

/** A deep copy of `value` with the value at `path` replaced, or removed when `replacement` is undefined. */
function replaced(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...(value as unknown[])];
    if (rest.length === 0 && replacement === undefined) copy.splice(head as number, 1);
    else copy[head as number] = replaced(copy[head as number], rest, replacement);
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (rest.length === 0 && replacement === undefined) delete copy[head];
  else copy[head] = replaced(copy[head], rest, replacement);
  return copy;
}

/** Values a mutation puts in: random JSON, plus the tricky ones random JSON rarely makes. */
const replacement = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(undefined, 0, -1, 1.5, 1e308, '', 'constructor', '__proto__', 'toString', 'softmax', 'mse', 'label', 'Dense', 'Sequential', [], {}, null),
);

function mutated(valid: object): fc.Arbitrary<unknown> {
  const all = paths(valid);
  return fc
    .array(fc.tuple(fc.constantFrom(...all), replacement), { minLength: 1, maxLength: 3 })
    .map((changes) => changes.reduce<unknown>((json, [path, value]) => replaced(json, path, value), valid));
}

describe('spec parser fuzzing', () => {
  it('the valid samples are valid', () => {
    expectValid(parseSpec(VALID_SPEC));
    expectValid(parseSpec(VALID_MODEL_JSON));
  });

  it('parseSpec on any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => check(() => parseSpec(json))),
      { numRuns: RUNS },
    );
  });

  it('parseSpec on mutations of a valid spec', () => {
    fc.assert(
      fc.property(mutated(VALID_SPEC), (json) => check(() => parseSpec(json))),
      { numRuns: RUNS },
    );
  });

  it('parseKerasModelJson on any JSON object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (json) => check(() => parseKerasModelJson(json))),
      { numRuns: RUNS },
    );
  });

  it('parseKerasModelJson (through parseSpec) on mutations of a valid model.json', () => {
    fc.assert(
      fc.property(mutated(VALID_MODEL_JSON), (json) => check(() => parseSpec(json))),
      { numRuns: RUNS },
    );
  });
});
