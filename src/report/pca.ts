/**
 * Two-component PCA of n rows of d values, for drawing d-dimensional codes (the
 * autoencoder's 28-d bottleneck) on a plane. Forms the d × d covariance, so it is
 * meant for modest d; finds its top two eigenvectors by subspace iteration from a
 * fixed-seed start and a final 2 × 2 Rayleigh–Ritz rotation, which separates the two
 * directions even when their variances are close. Deterministic: same input, same
 * output, and each direction's sign is fixed (its largest-magnitude entry positive).
 */
import { Rng } from '../rng.js';

export interface Pca2 {
  /** n × 2, row-major: row i centred and projected onto the two directions. */
  readonly projected: Float32Array;
  /** Unit principal directions, d entries each, by decreasing variance. */
  readonly components: readonly [Float64Array, Float64Array];
  /** Variance of the data along each direction (covariance eigenvalues, n − 1 denominator). */
  readonly variance: readonly [number, number];
  readonly mean: Float64Array;
}

const MAX_ITERATIONS = 5000;
/** Converged when C·Q leaves span(Q) by less than this, relative to |C·Q|. */
const TOLERANCE = 1e-10;
const START_SEED = 0x5ca1ab1e;

export function pca2(rows: Float32Array, n: number, d: number): Pca2 {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(d) || d < 2 || rows.length !== n * d) {
    throw new RangeError(`pca2: need n ≥ 1 rows of d ≥ 2 values in ${rows.length} values, got n = ${n}, d = ${d}`);
  }
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;

  const [q1, q2] = topTwoEigenvectors(covariance(rows, n, d, mean), d);
  const projected = new Float32Array(2 * n);
  let ss1 = 0;
  let ss2 = 0;
  for (let i = 0; i < n; i++) {
    let p1 = 0;
    let p2 = 0;
    for (let j = 0; j < d; j++) {
      const centred = rows[i * d + j] - mean[j];
      p1 += centred * q1[j];
      p2 += centred * q2[j];
    }
    projected[2 * i] = p1;
    projected[2 * i + 1] = p2;
    ss1 += p1 * p1;
    ss2 += p2 * p2;
  }
  const dof = Math.max(n - 1, 1);
  return { projected, components: [q1, q2], variance: [ss1 / dof, ss2 / dof], mean };
}

/** Sample covariance, d × d row-major, in float64. */
function covariance(rows: Float32Array, n: number, d: number, mean: Float64Array): Float64Array {
  const c = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = rows[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = centred[a];
      for (let b = a; b < d; b++) c[a * d + b] += ca * centred[b];
    }
  }
  const dof = Math.max(n - 1, 1);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      c[a * d + b] /= dof;
      c[b * d + a] = c[a * d + b];
    }
  }
  return c;
}

function topTwoEigenvectors(c: Float64Array, d: number): [Float64Array, Float64Array] {
  const rng = Rng.fromSeed(START_SEED);
  const random = (): Float64Array => Float64Array.from({ length: d }, () => rng.nextFloat() - 0.5);
  let q: [Float64Array, Float64Array] = orthonormalize(random(), random(), random);
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    const z1 = multiply(c, q[0], d);
    const z2 = multiply(c, q[1], d);
    if (leavesSpan(q, z1, z2) <= TOLERANCE * Math.sqrt(dot(z1, z1) + dot(z2, z2))) break;
    q = orthonormalize(z1, z2, random);
  }
  return rayleighRitz(c, q, d);
}

/** |Z − Q·Qᵀ·Z|: how far C maps span(Q) outside itself (0 for an invariant subspace). */
function leavesSpan(q: [Float64Array, Float64Array], z1: Float64Array, z2: Float64Array): number {
  let sum = 0;
  for (const z of [z1, z2]) {
    const a = dot(q[0], z);
    const b = dot(q[1], z);
    for (let j = 0; j < z.length; j++) {
      const r = z[j] - a * q[0][j] - b * q[1][j];
      sum += r * r;
    }
  }
  return Math.sqrt(sum);
}

/** Gram–Schmidt; a vector that collapses (rank-deficient data) is replaced by a random one. */
function orthonormalize(
  a: Float64Array,
  b: Float64Array,
  random: () => Float64Array,
): [Float64Array, Float64Array] {
  const first = normalizedOr(a, random, []);
  return [first, normalizedOr(b, random, [first])];
}

function normalizedOr(v: Float64Array, random: () => Float64Array, against: Float64Array[]): Float64Array {
  for (let candidate = v; ; candidate = random()) {
    const scale = Math.sqrt(dot(candidate, candidate));
    const u = Float64Array.from(candidate);
    for (const w of against) {
      const p = dot(w, u);
      for (let j = 0; j < u.length; j++) u[j] -= p * w[j];
    }
    const norm = Math.sqrt(dot(u, u));
    if (scale > 0 && norm > 1e-9 * scale) {
      for (let j = 0; j < u.length; j++) u[j] /= norm;
      return u;
    }
  }
}

/** Rotates the basis of span(Q) onto the eigenvectors of Qᵀ·C·Q, larger eigenvalue first. */
function rayleighRitz(c: Float64Array, q: [Float64Array, Float64Array], d: number): [Float64Array, Float64Array] {
  const c0 = multiply(c, q[0], d);
  const c1 = multiply(c, q[1], d);
  const a = dot(q[0], c0);
  const b = dot(q[0], c1);
  const e = dot(q[1], c1);
  // Angle of the larger eigenvector of [[a, b], [b, e]].
  const theta = 0.5 * Math.atan2(2 * b, a - e);
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const v1 = new Float64Array(d);
  const v2 = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    v1[j] = cos * q[0][j] + sin * q[1][j];
    v2[j] = -sin * q[0][j] + cos * q[1][j];
  }
  return [withFixedSign(v1), withFixedSign(v2)];
}

function withFixedSign(v: Float64Array): Float64Array {
  let largest = 0;
  for (let j = 1; j < v.length; j++) if (Math.abs(v[j]) > Math.abs(v[largest])) largest = j;
  if (v[largest] < 0) for (let j = 0; j < v.length; j++) v[j] = -v[j];
  return v;
}

function multiply(c: Float64Array, v: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d);
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) s += c[a * d + b] * v[b];
    out[a] = s;
  }
  return out;
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) s += x[j] * y[j];
  return s;
}
