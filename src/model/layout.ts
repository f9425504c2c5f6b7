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

/** FLOPs of forward + backward for one sample (2 per multiply-add, 3 GEMMs per layer). */
export function trainFlopsPerSample(spec: ModelSpec): number {
  return 6 * forwardMacsPerSample(spec);
}
