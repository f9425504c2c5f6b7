/** Reads a model spec or a Keras/tfjs model JSON from disk, with errors that name the file. */
import { readFile } from 'node:fs/promises';
import { SpecError } from '../errors.js';
import { readProblem } from '../io-problem.js';
import { inputScalingUnsaid, parseSpec, type ModelSpec } from './spec.js';

const FORMATS = 'a model spec JSON (see examples/), a Keras model.to_json() file, the config.json inside a .keras file, or a tfjs model.json';

/** Binary files a Keras user may hand over, and how to get the JSON corefit reads out of them. */
const BINARY_FORMATS: ReadonlyArray<{ magic: Buffer; what: string; hint: (file: string) => string }> = [
  {
    magic: Buffer.from('PK\x03\x04', 'latin1'),
    what: 'a zip archive (a .keras file)',
    hint: (file) => `Pass the config.json inside it: unzip -p ${file} config.json > model-config.json, then give that file.`,
  },
  {
    magic: Buffer.from('\x89HDF\r\n\x1a\n', 'latin1'),
    what: 'an HDF5 file (a Keras .h5 file)',
    hint: () => 'Save the architecture as JSON in Keras: open("model.json", "w").write(model.to_json()), then give that file.',
  },
];

/**
 * Reads and checks the model in `file`. `onNote` hears what the file left unsaid and
 * corefit assumed: a Keras file does not record how its inputs were scaled.
 */
export async function readSpecFile(file: string, onNote: (note: string) => void = () => {}): Promise<ModelSpec> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new SpecError(`${file} ${readProblem(err)}`, `Give ${FORMATS}.`);
  }
  const binary = BINARY_FORMATS.find((f) => bytes.subarray(0, f.magic.length).equals(f.magic));
  if (binary !== undefined) throw new SpecError(`${file} is ${binary.what}, not JSON`, binary.hint(file));
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new SpecError(`${file} is not valid JSON: ${(err as Error).message}`, `Give ${FORMATS}.`);
  }
  const spec = parseSpec(json, file);
  if (inputScalingUnsaid(json)) {
    onNote(
      `${file} does not say how its inputs are scaled, so corefit divides the pixels by 255 (inputs in [0, 1]); ` +
        'if the model was trained on raw values, or the data is already scaled, add "corefit": {"normalize": false} to the file',
    );
  }
  return spec;
}
