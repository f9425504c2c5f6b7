/** Whether a model can read a data set: checked at load, so that a mismatch is a data error, not a failed worker. */
import { DataError } from '../errors.js';
import { isClassLoss, outputSize, type ModelSpec } from '../model/spec.js';
import type { Dataset } from './dataset.js';

/** Throws a DataError naming the file when the rows are not the model's input size or a label is not one of its classes. */
export function assertModelFits(spec: ModelSpec, data: Dataset): void {
  if (data.train.features !== spec.inputSize) {
    throw new DataError(
      data.train.imagesFile,
      `holds ${data.imageShape.join('×')} images (${data.train.features} values each), but model "${spec.name}" takes ${spec.inputSize} inputs`,
      'Give --data the data set the model was built for, or a model whose input size matches it.',
    );
  }
  if (!isClassLoss(spec.loss)) return;
  const classes = outputSize(spec);
  for (const split of [data.train, data.test]) {
    const at = split.labels.findIndex((label) => label >= classes);
    if (at >= 0) {
      throw new DataError(
        split.labelsFile,
        `label ${split.labels[at]} at index ${at} is not one of the ${classes} classes of model "${spec.name}" (0..${classes - 1})`,
        'Give the model one output unit per class, or use the label file it was built for.',
      );
    }
  }
}
