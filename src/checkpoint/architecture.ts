/** Whether a checkpoint's weights fit the model a resumed run asks for. */
import { CheckpointError } from '../errors.js';
import type { ModelSpec } from '../model/spec.js';

/** Each difference in input size, layer count, units or activations, in words. */
function architectureDifferences(checkpoint: ModelSpec, wanted: ModelSpec): string[] {
  const differences: string[] = [];
  if (checkpoint.inputSize !== wanted.inputSize) {
    differences.push(`input size ${checkpoint.inputSize} in the checkpoint, ${wanted.inputSize} in the requested model`);
  }
  if (checkpoint.layers.length !== wanted.layers.length) {
    differences.push(`${checkpoint.layers.length} layers in the checkpoint, ${wanted.layers.length} in the requested model`);
  }
  const shared = Math.min(checkpoint.layers.length, wanted.layers.length);
  for (let i = 0; i < shared; i++) {
    const a = checkpoint.layers[i];
    const b = wanted.layers[i];
    if (a.units !== b.units || a.activation !== b.activation) {
      differences.push(`layer ${i}: ${a.units} ${a.activation} units in the checkpoint, ${b.units} ${b.activation} in the requested model`);
    }
  }
  return differences;
}

/** Throws a CheckpointError naming every difference when the architectures differ. */
export function assertSameArchitecture(checkpoint: ModelSpec, wanted: ModelSpec, dir: string): void {
  const differences = architectureDifferences(checkpoint, wanted);
  if (differences.length === 0) return;
  throw new CheckpointError(
    `checkpoint ${dir} holds a different model: ${differences.join('; ')}`,
    'Resume with the model the checkpoint was trained with (drop --model), or start a new run without --resume.',
  );
}
