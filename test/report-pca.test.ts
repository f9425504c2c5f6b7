import { describe, expect, it } from 'vitest';
import { pca2 } from '../src/report/pca.js';
import { Rng } from '../src/rng.js';

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** n rows: mean + s1·g·u1 + s2·g·u2 + small isotropic noise, u1 ⟂ u2. */
function synthetic(n: number, d: number, s1: number, s2: number, seed: number) {
  const rng = Rng.fromSeed(seed);
  const u1 = unit(Array.from({ length: d }, () => gaussian(rng)));
  const raw = Array.from({ length: d }, () => gaussian(rng));
  const u2 = unit(raw.map((x, j) => x - dot(raw, u1) * u1[j]));
  const mean = Array.from({ length: d }, (_, j) => j - 3);
  const rows = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const a = s1 * gaussian(rng);
    const b = s2 * gaussian(rng);
    for (let j = 0; j < d; j++) rows[i * d + j] = mean[j] + a * u1[j] + b * u2[j] + 0.01 * gaussian(rng);
  }
  return { rows, u1, u2 };
}

describe('pca2', () => {
  it('recovers the two dominant directions and their variances', () => {
    const { rows, u1, u2 } = synthetic(4000, 12, 3, 1, 7);
    const pca = pca2(rows, 4000, 12);
    expect(Math.abs(dot(pca.components[0], u1))).toBeGreaterThan(0.999);
    expect(Math.abs(dot(pca.components[1], u2))).toBeGreaterThan(0.999);
    expect(pca.variance[0]).toBeGreaterThan(9 * 0.9);
    expect(pca.variance[0]).toBeLessThan(9 * 1.1);
    expect(pca.variance[1]).toBeGreaterThan(0.9);
    expect(pca.variance[1]).toBeLessThan(1.1);
    expect(dot(pca.components[0], pca.components[1])).toBeCloseTo(0, 9);
    expect(dot(pca.components[0], pca.components[0])).toBeCloseTo(1, 9);
  });

  it('projects the centred rows onto the components', () => {
    const d = 6;
    const { rows } = synthetic(50, d, 2, 1, 3);
    const pca = pca2(rows, 50, d);
    for (const i of [0, 17, 49]) {
      const centred = Array.from({ length: d }, (_, j) => rows[i * d + j] - pca.mean[j]);
      expect(pca.projected[2 * i]).toBeCloseTo(dot(centred, pca.components[0]), 4);
      expect(pca.projected[2 * i + 1]).toBeCloseTo(dot(centred, pca.components[1]), 4);
    }
  });

  it('separates two directions of nearly equal variance', () => {
    const { rows, u1, u2 } = synthetic(20000, 8, 2, 1.9, 11);
    const pca = pca2(rows, 20000, 8);
    // Both lie in span(u1, u2) whichever order sampling noise gives them.
    for (const c of pca.components) expect(dot(c, u1) ** 2 + dot(c, u2) ** 2).toBeGreaterThan(0.999);
    expect(pca.variance[0]).toBeGreaterThanOrEqual(pca.variance[1]);
  });

  it("is deterministic and fixes each direction's sign", () => {
    const { rows } = synthetic(300, 5, 2, 1, 5);
    const a = pca2(rows, 300, 5);
    const b = pca2(rows, 300, 5);
    expect(Array.from(a.projected)).toEqual(Array.from(b.projected));
    for (const c of a.components) {
      const largest = Array.from(c).reduce((m, v) => (Math.abs(v) > Math.abs(m) ? v : m), 0);
      expect(largest).toBeGreaterThan(0);
    }
  });

  it('copes with data of rank one and with constant data', () => {
    const d = 4;
    const line = Float32Array.from({ length: 10 * d }, (_, k) => Math.floor(k / d) * [1, 2, 0, 0][k % d]);
    const pca = pca2(line, 10, d);
    expect(Math.abs(pca.components[0][1])).toBeCloseTo(2 / Math.sqrt(5), 6);
    expect(pca.variance[1]).toBeCloseTo(0, 9);
    expect(dot(pca.components[0], pca.components[1])).toBeCloseTo(0, 9);
    const flat = pca2(new Float32Array(3 * d).fill(5), 3, d);
    expect(Array.from(flat.projected)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('rejects shapes that do not match', () => {
    expect(() => pca2(new Float32Array(10), 3, 3)).toThrow(RangeError);
    expect(() => pca2(new Float32Array(3), 3, 1)).toThrow(RangeError);
  });
});
