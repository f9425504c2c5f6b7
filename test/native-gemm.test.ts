/**
 * The native engine's GEMM kernels (native/gemm_kernel.h), each product against a naive
 * double-precision product, on every kernel path this CPU runs (the portable one
 * included, forced): every dimension from 1 to 300 (sampled, and the edges of the
 * register tiles and cache blocks), ragged edges, unaligned pointers, accumulation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nativeAddon, nativeStatus, type GemmProduct, type KernelPathName } from '../src/engine/native.js';
import { Rng } from '../src/rng.js';

const status = nativeStatus();
const paths = status.available ? nativeAddon().kernelInfo().paths : [];
/** float32's unit roundoff. */
const U = 2 ** -24;

interface Shape {
  readonly B: number;
  readonly K: number;
  readonly N: number;
}

/** Rows × columns of a, b, c and the inner dimension of each product. */
function dims(product: GemmProduct, { B, K, N }: Shape): { a: number; b: number; c: number; inner: number } {
  switch (product) {
    case 'forward': // c[B, N] = a[B, K] · b[K, N] + bias
      return { a: B * K, b: K * N, c: B * N, inner: K };
    case 'weightGrad': // c[K, N] (+)= a[B, K]ᵀ · b[B, N]
      return { a: B * K, b: B * N, c: K * N, inner: B };
    case 'inputGrad': // c[B, K] = a[B, N] · b[K, N]ᵀ
      return { a: B * N, b: K * N, c: B * K, inner: N };
  }
}

/** c's exact value (in double) and the bound on float32 summation error, element by element. */
function reference(
  product: GemmProduct,
  s: Shape,
  a: Float32Array,
  b: Float32Array,
  c0: Float32Array,
  bias: Float32Array,
  accumulate: boolean,
): { exact: Float64Array; bound: Float64Array } {
  const { B, K, N } = s;
  const d = dims(product, s);
  const exact = new Float64Array(d.c);
  const bound = new Float64Array(d.c);
  const [rows, cols] = product === 'forward' ? [B, N] : product === 'weightGrad' ? [K, N] : [B, K];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = product === 'forward' ? bias[j] : product === 'weightGrad' && accumulate ? c0[i * cols + j] : 0;
      let magnitude = Math.abs(sum);
      for (let p = 0; p < d.inner; p++) {
        const x = product === 'forward' ? a[i * K + p] * b[p * N + j] : product === 'weightGrad' ? a[p * K + i] * b[p * N + j] : a[i * N + p] * b[j * N + p];
        sum += x;
        magnitude += Math.abs(x);
      }
      exact[i * cols + j] = sum;
      // Any order of d.inner + 1 float32 additions (and products rounded or fused) errs by at most this.
      bound[i * cols + j] = (d.inner + 2) * U * magnitude * 1.01 + 1e-30;
    }
  }
  return { exact, bound };
}

/** A view of n floats starting `offset` floats into a larger buffer, with guard values around it. */
function view(n: number, offset: number, fill: (i: number) => number): { all: Float32Array; part: Float32Array } {
  const all = new Float32Array(n + offset + 8).fill(-7.5);
  const part = all.subarray(offset, offset + n);
  for (let i = 0; i < n; i++) part[i] = fill(i);
  return { all, part };
}

interface Case extends Shape {
  readonly product: GemmProduct;
  readonly accumulate: boolean;
  /** Offsets in floats: 0 is 64-byte aligned in a fresh buffer, the others are not. */
  readonly offsets: readonly [number, number, number];
  readonly seed: number;
}

/** Runs the kernel; returns the elements of c (and of the bias gradient) outside their bound, and whether guards moved. */
function check(kernels: KernelPathName, c: Case): { bad: string[]; guardsMoved: boolean; out: Float32Array } {
  const rng = Rng.fromSeed(c.seed);
  const d = dims(c.product, c);
  const random = (): number => 2 * rng.nextFloat() - 1;
  const a = view(d.a, c.offsets[0], random);
  const b = view(d.b, c.offsets[1], random);
  const out = view(d.c, c.offsets[2], random);
  const bias = view(c.N, 3, random);
  const c0 = Float32Array.from(out.part);
  const bias0 = Float32Array.from(bias.part);
  const guards = [a, b, out, bias].map((v) => Float32Array.from(v.all));
  nativeAddon().gemm(kernels, c.product, c.B, c.K, c.N, a.part, b.part, out.part, bias.part, c.accumulate);

  const bad: string[] = [];
  const { exact, bound } = reference(c.product, c, a.part, b.part, c0, bias0, c.accumulate);
  for (let i = 0; i < d.c; i++) {
    if (!(Math.abs(out.part[i] - exact[i]) <= bound[i])) bad.push(`c[${i}] = ${out.part[i]}, exact ${exact[i]} ± ${bound[i]}`);
  }
  if (c.product === 'weightGrad') {
    for (let j = 0; j < c.N; j++) {
      let sum = c.accumulate ? bias0[j] : 0;
      let magnitude = Math.abs(sum);
      for (let p = 0; p < c.B; p++) {
        sum += b.part[p * c.N + j];
        magnitude += Math.abs(b.part[p * c.N + j]);
      }
      if (!(Math.abs(bias.part[j] - sum) <= (c.B + 2) * U * magnitude * 1.01)) bad.push(`bias gradient ${j} = ${bias.part[j]}, exact ${sum}`);
    }
  }
  const outside = (v: { all: Float32Array; part: Float32Array }, before: Float32Array): boolean =>
    v.all.some((x, i) => (i < v.part.byteOffset / 4 || i >= v.part.byteOffset / 4 + v.part.length) && !Object.is(x, before[i]));
  const guardsMoved = [a, b, out, bias].some((v, i) => outside(v, guards[i])) || !a.part.every((x, i) => Object.is(x, guards[0][c.offsets[0] + i]));
  return { bad: bad.slice(0, 5), guardsMoved, out: Float32Array.from(out.part) };
}

const PRODUCTS: readonly GemmProduct[] = ['forward', 'weightGrad', 'inputGrad'];

/** Dimensions at the edges of every path's register tiles (4, 6, 14 rows; 8, 16, 32 columns) and cache blocks (256). */
const EDGES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 31, 32, 33, 255, 256, 257, 300];

describe.skipIf(!status.available)(`native GEMM kernels${status.available ? '' : ` (skipped: ${status.available ? '' : status.reason})`}`, () => {
  for (const path of paths) {
    describe.skipIf(!path.runs)(`${path.name} (${path.isa})${path.runs ? '' : `: skipped, ${path.whyNot}`}`, () => {
      const kernels = path.name;

      it.each(PRODUCTS)('%s: every dimension 1–300, unaligned views, accumulation, against double precision', (product) => {
        const dim = fc.integer({ min: 1, max: 300 });
        const caseArb = fc.record({
          B: dim,
          K: dim,
          N: dim,
          accumulate: fc.boolean(),
          offsets: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 15 })),
          seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        });
        fc.assert(
          fc.property(caseArb, (c) => {
            const r = check(kernels, { ...c, product });
            expect(r.bad).toEqual([]);
            expect(r.guardsMoved).toBe(false);
          }),
          { seed: 20261130, numRuns: 25 },
        );
      });

      it.each(PRODUCTS)('%s: the edges of the register tiles and cache blocks', (product) => {
        const rng = Rng.fromSeed(3);
        for (let i = 0; i < 40; i++) {
          const pick = (): number => EDGES[rng.nextInt(EDGES.length)];
          const c: Case = { product, B: pick(), K: pick(), N: pick(), accumulate: i % 2 === 0, offsets: [i % 3, (i + 1) % 5, (i + 2) % 7], seed: i };
          const r = check(kernels, c);
          expect(r.bad, JSON.stringify(c)).toEqual([]);
          expect(r.guardsMoved).toBe(false);
        }
      });

      it.each(PRODUCTS)('%s: the same bits run after run and at any alignment', (product) => {
        const c: Case = { product, B: 50, K: 129, N: 37, accumulate: true, offsets: [0, 0, 0], seed: 5 };
        const first = check(kernels, c).out;
        expect(check(kernels, c).out).toEqual(first);
        expect(check(kernels, { ...c, offsets: [1, 3, 7] }).out).toEqual(first);
      });
    });
  }

  it('the check can fail: a wrong product is caught', () => {
    const c: Case = { product: 'forward', B: 7, K: 9, N: 11, accumulate: false, offsets: [0, 0, 0], seed: 1 };
    const d = dims('forward', c);
    const a = new Float32Array(d.a).fill(1);
    const b = new Float32Array(d.b).fill(1);
    const { exact, bound } = reference('forward', c, a, b, new Float32Array(d.c), new Float32Array(c.N), false);
    expect(exact[0]).toBe(9);
    expect(Math.abs(9 * (1 + 1e-5) - exact[0]) <= bound[0]).toBe(false);
  });

  it('refuses a path this CPU cannot run, and bad arguments', () => {
    const addon = nativeAddon();
    for (const p of paths.filter((q) => !q.runs)) {
      expect(() => addon.gemm(p.name, 'forward', 1, 1, 1, new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(1), false)).toThrow(
        `cannot run here: ${p.whyNot}`,
      );
    }
    const one = new Float32Array(1);
    expect(() => addon.gemm('sse9' as KernelPathName, 'forward', 1, 1, 1, one, one, one, one, false)).toThrow(
      /kernels must be "auto", "avx512", "avx2" or "portable", got "sse9"/,
    );
    expect(() => addon.gemm('auto', 'backward' as GemmProduct, 1, 1, 1, one, one, one, one, false)).toThrow(
      /product must be "forward", "weightGrad" or "inputGrad"/,
    );
    expect(() => addon.gemm('auto', 'forward', 2, 1, 1, one, one, one, one, false)).toThrow(/shorter than its shape/);
  });
});
