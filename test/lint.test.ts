import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/dataset.js';
import { CorefitError, DataError, SpecError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { readSpecFile } from '../src/model/spec-file.js';
import { DEFAULT_SPEC, type Activation, type LossName, type ModelSpec } from '../src/model/spec.js';
import { formatFindings, lintExitCode, type Finding, type Severity } from '../src/lint/findings.js';
import { lintBeforeTraining, runLint } from '../src/lint/lint.js';
import { lintSpec, type DataStats } from '../src/lint/rules.js';

const example = (name: string): string => join(PACKAGE_ROOT, 'examples', name);
const ids = (findings: readonly Finding[]): string[] => findings.map((f) => f.id);
const SEED_ERRORS = ['softmax-reconstruction', 'bce-targets-outside-0-1', 'output-cannot-reach-targets'];

/** The default autoencoder with some fields changed (not validated: lint judges what it is given). */
function autoencoder(output: Activation, loss: LossName, normalize = true, hidden = [128, 64, 28, 64, 128]): ModelSpec {
  return {
    ...DEFAULT_SPEC,
    normalize,
    layers: [...hidden.map((units) => ({ units, activation: 'relu' as const })), { units: 784, activation: output }],
    loss,
  };
}

const PIXELS: DataStats = { source: 'test pixels', min: 0, max: 1, bceFloor: 0.0584 };
const RAW: DataStats = { source: 'raw test pixels', min: 0, max: 255, bceFloor: null };

describe('the examples', () => {
  it('rejects the seed question with exactly its three errors, each with why and fix', async () => {
    const report = await runLint(example('seed-question.json'), { strict: false });
    expect(ids(report.findings)).toEqual(SEED_ERRORS);
    expect(report.findings.every((f) => f.severity === 'error')).toBe(true);
    for (const f of report.findings) {
      expect(f.what).toMatch(/\.$/);
      expect(f.why.length).toBeGreaterThan(20);
      expect(report.text).toContain(f.fix);
    }
    expect(report.findings[0].fix).toContain('sigmoid');
    expect(report.findings[1].what).toContain('from 0 to 255 (measured on the mnist training images)');
    expect(report.findings[1].fix).toContain('"normalize": true');
    expect(report.exitCode).toBe(2);
    expect(report.text).toContain('seed-question.json: 3 errors, 0 warnings, 0 notes');
  });

  it('rejects the seed question without data too, from "normalize": false', async () => {
    const spec = await readSpecFile(example('seed-question.json'));
    const findings = lintSpec(spec);
    expect(ids(findings)).toEqual(SEED_ERRORS);
    expect(findings[1].what).toContain('assumed: 8-bit pixels, "normalize": false');
  });

  it('passes the fixed seed, noting its BCE floor on MNIST', async () => {
    const report = await runLint(example('seed-fixed.json'), { strict: true });
    expect(report.spec).toEqual(DEFAULT_SPEC);
    expect(ids(report.findings)).toEqual(['bce-continuous-targets']);
    expect(report.findings[0].severity).toBe('info');
    expect(report.findings[0].why).toContain('on the mnist training images it is 0.0584');
    expect(report.exitCode).toBe(0);
  });

  it('passes the MNIST classifier', async () => {
    const report = await runLint(example('mnist-classifier.json'), { strict: true, dataDir: undefined });
    expect(report.spec.layers.map((l) => l.units)).toEqual([128, 64, 10]);
    expect(report.findings).toEqual([]);
    expect(report.exitCode).toBe(0);
    expect(report.text).toBe(`${example('mnist-classifier.json')}: no findings\n`);
  });
});

describe('each rule', () => {
  it('softmax-reconstruction: softmax output on a reconstruction, whatever the loss', () => {
    for (const loss of ['binary_crossentropy', 'mse', 'mae'] as const) {
      expect(ids(lintSpec(autoencoder('softmax', loss), PIXELS))).toContain('softmax-reconstruction');
    }
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse'), PIXELS))).toEqual([]);
  });

  it('bce-targets-outside-0-1 and output-cannot-reach-targets: inputs outside [0, 1] with BCE or a (0, 1) output', () => {
    expect(ids(lintSpec(autoencoder('sigmoid', 'binary_crossentropy'), RAW))).toEqual(['bce-targets-outside-0-1', 'output-cannot-reach-targets']);
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse'), RAW))).toEqual(['output-cannot-reach-targets']);
    expect(ids(lintSpec(autoencoder('linear', 'mse'), RAW))).toEqual([]);
    // Measured data decides over the assumption from "normalize".
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse', false), { source: 'scaled data', min: 0, max: 1 }))).toEqual([]);
    const negative = lintSpec(autoencoder('sigmoid', 'mse', true), { source: 'centred data', min: -0.5, max: 0.5 });
    expect(ids(negative)).toEqual(['output-cannot-reach-targets']);
    expect(negative[0].what).toContain('from -0.5 to 0.5 (measured on centred data)');
  });

  it('bce-output-not-probability: BCE on an output that is not in (0, 1)', () => {
    for (const output of ['relu', 'linear', 'tanh', 'elu'] as const) {
      const findings = lintSpec(autoencoder(output, 'binary_crossentropy'), PIXELS);
      expect(ids(findings)).toEqual(['bce-output-not-probability', 'bce-continuous-targets']);
      expect(findings[0].severity).toBe('error');
      expect(findings[0].what).toContain(`The output layer is ${output}`);
    }
    expect(ids(lintSpec(autoencoder('relu', 'mse'), PIXELS))).toEqual([]);
  });

  it('bce-continuous-targets: a note with the floor of the data, none for 0/1 targets', () => {
    const [note] = lintSpec(autoencoder('sigmoid', 'binary_crossentropy'), { source: 'grey data', min: 0, max: 1, bceFloor: 0.12345 });
    expect(note.id).toBe('bce-continuous-targets');
    expect(note.severity).toBe('info');
    expect(note.why).toContain('on grey data it is 0.1235');
    expect(lintSpec(autoencoder('sigmoid', 'binary_crossentropy'), { source: 'binary data', min: 0, max: 1, bceFloor: 0 })).toEqual([]);
    const [unknown] = lintSpec(autoencoder('sigmoid', 'binary_crossentropy'));
    expect(unknown.why).toContain('corefit reports it as "floor"');
  });

  it('softmax-bce-classifier: softmax + BCE on classes warns and suggests categorical cross-entropy', () => {
    const classifier: ModelSpec = {
      ...DEFAULT_SPEC,
      layers: [
        { units: 64, activation: 'relu' },
        { units: 10, activation: 'softmax' },
      ],
      loss: 'binary_crossentropy',
      target: 'label',
    };
    const findings = lintSpec(classifier, PIXELS);
    expect(ids(findings)).toEqual(['softmax-bce-classifier']);
    expect(findings[0].severity).toBe('warning');
    expect(findings[0].fix).toContain('categorical_crossentropy');
    expect(lintSpec({ ...classifier, loss: 'sparse_categorical_crossentropy' }, PIXELS)).toEqual([]);
  });

  it('bottleneck-not-narrower: an autoencoder that does not compress', () => {
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse', true, [1024]), PIXELS))).toEqual(['bottleneck-not-narrower']);
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse', true, [1024, 784, 1024]), PIXELS))).toEqual(['bottleneck-not-narrower']);
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse', true, [1024, 783, 1024]), PIXELS))).toEqual([]);
    expect(ids(lintSpec(autoencoder('sigmoid', 'mse', true, []), PIXELS))).toEqual([]);
    const wideClassifier: ModelSpec = {
      ...DEFAULT_SPEC,
      layers: [
        { units: 1000, activation: 'relu' },
        { units: 10, activation: 'softmax' },
      ],
      loss: 'sparse_categorical_crossentropy',
      target: 'label',
    };
    expect(lintSpec(wideClassifier, PIXELS)).toEqual([]);
  });
});

describe('exit codes and output', () => {
  const finding = (severity: Severity, id: string = severity): Finding => ({ id, severity, what: `${id} what.`, why: `${id} why.`, fix: `${id} fix.` });

  it.each([
    [[], false, 0],
    [[], true, 0],
    [['info'], true, 0],
    [['warning'], false, 0],
    [['warning', 'info'], true, 1],
    [['error'], false, 2],
    [['warning', 'error'], true, 2],
  ] as [Severity[], boolean, number][])('%j with strict %s exits %i', (severities, strict, code) => {
    expect(
      lintExitCode(
        severities.map((s) => finding(s)),
        strict,
      ),
    ).toBe(code);
  });

  it('prints errors first, each with why and fix, then the counts', () => {
    const text = formatFindings([finding('info'), finding('warning'), finding('error'), finding('error', 'another')], 'spec.json');
    expect(text).toBe(
      [
        'error [error] error what.\n  why: error why.\n  fix: error fix.',
        'error [another] another what.\n  why: another why.\n  fix: another fix.',
        'warning [warning] warning what.\n  why: warning why.\n  fix: warning fix.',
        'note [info] info what.\n  why: info why.\n  fix: info fix.',
        'spec.json: 2 errors, 1 warning, 1 note',
      ].join('\n\n') + '\n',
    );
  });
});

describe('runLint and lintBeforeTraining', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'corefit-lint-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports an unreadable spec as a SpecError and a bad data folder as a DataError', async () => {
    await expect(runLint(join(dir, 'missing.json'), { strict: false })).rejects.toBeInstanceOf(SpecError);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "layers": [');
    await expect(runLint(broken, { strict: false })).rejects.toThrow(/not valid JSON/);
    await expect(runLint(example('seed-fixed.json'), { strict: false, dataDir: join(dir, 'no-data') })).rejects.toBeInstanceOf(DataError);
  });

  it('lints a tfjs model.json like a spec', async () => {
    const modelJson = join(dir, 'model.json');
    const dense = (units: number, activation: string, first = false): object => ({
      class_name: 'Dense',
      config: { units, activation, ...(first ? { batch_input_shape: [null, 784] } : {}) },
    });
    await writeFile(
      modelJson,
      JSON.stringify({
        modelTopology: {
          class_name: 'Sequential',
          config: { name: 'keras-seed', layers: [dense(128, 'relu', true), dense(28, 'relu'), dense(784, 'softmax')] },
        },
        trainingConfig: { loss: 'binary_crossentropy' },
        corefit: { normalize: false },
      }),
    );
    expect(ids((await runLint(modelJson, { strict: false })).findings)).toEqual(SEED_ERRORS);
  });

  it('stops training on errors, printing them first', async () => {
    const lines: string[] = [];
    const records: Record<string, unknown>[] = [];
    const out = { warn: (l: string) => lines.push(l), record: (r: Record<string, unknown>) => records.push(r) };
    const seed = await readSpecFile(example('seed-question.json'));
    const data = await loadDataset({ normalize: seed.normalize });
    let error: unknown;
    try {
      lintBeforeTraining(seed, data, out);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CorefitError);
    expect((error as CorefitError).code).toBe('LINT');
    expect((error as CorefitError).exitCode).toBe(2);
    expect((error as CorefitError).message).toContain('3 lint errors (softmax-reconstruction, bce-targets-outside-0-1, output-cannot-reach-targets)');
    expect((error as CorefitError).hint).toContain('--no-lint');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^error \[softmax-reconstruction\]/);
    expect(records.map((r) => [r.type, r.id])).toEqual(SEED_ERRORS.map((id) => ['lint', id]));
  });

  it('judges the data set it is given, not one of its own', async () => {
    const mnist = await loadDataset({ normalize: true });
    const wider = { ...mnist, name: 'wider', train: { ...mnist.train, max: 2 } };
    const records: Record<string, unknown>[] = [];
    expect(() => lintBeforeTraining(DEFAULT_SPEC, wider, { warn: () => undefined, record: (r) => records.push(r) })).toThrow(/training did not start/);
    expect(records.map((r) => r.id)).toContain('bce-targets-outside-0-1');
    expect(records.find((r) => r.id === 'bce-targets-outside-0-1')?.what).toContain('from 0 to 2 (measured on the wider training images)');
  });

  it('lets the default model train, saying nothing', async () => {
    const lines: string[] = [];
    lintBeforeTraining(DEFAULT_SPEC, await loadDataset({ normalize: true }), { warn: (l) => lines.push(l), record: () => undefined });
    expect(lines).toEqual([]);
  });
});
