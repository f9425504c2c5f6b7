/** Reads a model spec or a tfjs/Keras model.json from disk, with errors that name the file. */
import { readFile } from 'node:fs/promises';
import { SpecError } from '../errors.js';
import { readProblem } from '../io-problem.js';
import { parseSpec, type ModelSpec } from './spec.js';

export async function readSpecFile(file: string): Promise<ModelSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SpecError(`${file} ${readProblem(err)}`, 'Pass --model a model spec JSON (see examples/) or a tfjs/Keras model.json.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpecError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseSpec(json, file);
}
