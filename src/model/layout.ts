/**
 * The flat parameter layout: every weight in one Float32Array, in tfjs/Keras weight
 * order (layer by layer: kernel [in, out] row-major, then bias [out]). Gradients and
 * Adam's moments use the same layout, and a checkpoint's weights.bin is this buffer.
 */
import type { ModelSpec } from './spec.js';

export interface LayerSlice {
  readonly inputs: number;
  readonly units: number;
  /** Offset of the kernel [inputs, units], row-major. */
  readonly kernelOffset: number;
  /** Offset of the bias [units]. */
  readonly biasOffset: number;
}

export interface ParamLayout {
  readonly layers: readonly LayerSlice[];
  readonly size: number;
}

export function paramLayout(spec: ModelSpec): ParamLayout {
  const layers: LayerSlice[] = [];
  let offset = 0;
  let inputs = spec.inputSize;
  for (const layer of spec.layers) {
    const kernelOffset = offset;
    const biasOffset = kernelOffset + inputs * layer.units;
    layers.push({ inputs, units: layer.units, kernelOffset, biasOffset });
    offset = biasOffset + layer.units;
    inputs = layer.units;
  }
  return { layers, size: offset };
}

/** Multiply-adds of one sample's forward pass; forward + backward is about 3×. */
export function forwardMacsPerSample(spec: ModelSpec): number {
  return paramLayout(spec).layers.reduce((sum, l) => sum + l.inputs * l.units, 0);
}

/**
 * FLOPs of one sample's forward + backward as the engines compute it: 2 per multiply-add of
 * the forward and weight-gradient products of every layer, and of the input gradient of
 * every layer but the first (nothing needs the data's gradient). 1.12 MFLOP for the seed model.
 */
export function trainFlopsPerSample(spec: ModelSpec): number {
  const macs = forwardMacsPerSample(spec);
  const first = paramLayout(spec).layers[0];
  return 2 * (3 * macs - first.inputs * first.units);
}
