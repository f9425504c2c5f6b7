/**
 * Two-component PCA of n rows of d values, for drawing d-dimensional codes (the
 * autoencoder's 28-d bottleneck) on a plane. ml-pca finds the directions (an SVD of the
 * centred rows); this module fixes what a picture needs from them: each direction's sign
 * (its largest-magnitude entry positive), so that the same codes always give the same
 * picture, and the rows projected onto the two directions.
 */
import { PCA } from 'ml-pca';

export interface Pca2 {
  /** n × 2, row-major: row i centred and projected onto the two directions. */
  readonly projected: Float32Array;
  /** Unit principal directions, d entries each, by decreasing variance. */
  readonly components: readonly [Float64Array, Float64Array];
  /** Variance of the data along each direction (covariance eigenvalues, n − 1 denominator). */
  readonly variance: readonly [number, number];
  readonly mean: Float64Array;
}

export function pca2(rows: Float32Array, n: number, d: number): Pca2 {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 2 || rows.length !== n * d) {
    throw new RangeError(`pca2: need n ≥ 1 rows of d ≥ 2 values in ${rows.length} values, got n = ${n}, d = ${d}`);
  }
  const data = Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * d, (i + 1) * d)));
  const mean = new Float64Array(d);
  for (const row of data) for (let j = 0; j < d; j++) mean[j] += row[j];
  for (let j = 0; j < d; j++) mean[j] /= n;

  const pca = new PCA(data, { center: true, scale: false });
  const vectors = pca.getEigenvectors();
  // Fewer than two directions come back from fewer than two rows; a zero direction projects to 0.
  const direction = (k: number): Float64Array => withFixedSign(Float64Array.from({ length: d }, (_, j) => (k < vectors.columns ? vectors.get(j, k) : 0)));
  const components: [Float64Array, Float64Array] = [direction(0), direction(1)];

  const projected = new Float32Array(2 * n);
  let ss1 = 0;
  let ss2 = 0;
  for (let i = 0; i < n; i++) {
    let p1 = 0;
    let p2 = 0;
    for (let j = 0; j < d; j++) {
      const centred = data[i][j] - mean[j];
      p1 += centred * components[0][j];
      p2 += centred * components[1][j];
    }
    projected[2 * i] = p1;
    projected[2 * i + 1] = p2;
    ss1 += p1 * p1;
    ss2 += p2 * p2;
  }
  const dof = Math.max(n - 1, 1);
  return { projected, components, variance: [ss1 / dof, ss2 / dof], mean };
}

function withFixedSign(v: Float64Array): Float64Array {
  let largest = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[largest])) largest = j;
  if (v[largest] < 0) for (let j = 0; j < v.length; j++) v[j] = -v[j];
  return v;
}
