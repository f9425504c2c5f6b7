// The generic GEMM kernel: one register-tiled micro-kernel and the loops around it,
// written once over a SIMD traits type T, and the three products of a dense layer built
// on it. T provides:
//   V, W                        a vector of W floats
//   load(p), store(p, v)        unaligned
//   broadcast(x), zero()
//   fma(a, b, c)                a * b + c
//   MR, NV                      a register tile: MR rows x NR = NV * W columns
//   MC, KC                      cache blocks: MC rows of A, KC of the inner dimension
// gemm_<isa>.cc includes this file with its own traits and compiler flags. Everything
// here has internal linkage (the anonymous namespace) on purpose: an inline function that
// several of those files shared would be compiled for several instruction sets, and the
// linker would keep any one copy, maybe one this CPU cannot run.
//
// The loops follow Goto and van de Geijn's layering, reduced to what these shapes need
// (K, N <= ~800, batch 50..500, so most operands sit in L2):
//   - the inner dimension in equal blocks of at most KC, so that a kc x NR panel of B
//     stays in L1 while a block of A's rows goes by in MR-row tiles (the block stays in L2);
//   - A is read in place (a tile broadcasts one element of each of its MR rows per step),
//     and so is B, except where packing measurably pays: W^T for the input gradient, and
//     a B or x^T whose row stride is a multiple of 256 bytes (such rows crowd into a few
//     sets of L1); ragged edges (a last tile of fewer rows or columns) go through small
//     zero-padded copies;
//   - each element of C is one chain of fused multiply-adds in order of the inner index
//     (a later KC block continues from the stored partial sum), so the bits do not
//     depend on the tiling, the batch split or the thread.
// The epilogue runs on each finished tile while it is in L1: bias + activation for the
// forward, the activation's derivative for the input gradient. A bf16 path would be
// another traits type whose load widens bf16 to float (or a dot-product fma).
#pragma once

#include <cstddef>
#include <cstring>

#include "activation.h"
#include "gemm.h"

namespace {

inline int min_of(int a, int b) { return a < b ? a : b; }

// c[MR, NR] = (add ? c : 0) + a[MR, kc] @ b[kc, NR], with
//   a(r, p) = a[r * lda + p]   (A_ROWS: A's rows are contiguous, read in place)
//   a(r, p) = a[p * lda + r]   (!A_ROWS: A is stored transposed, as x in x^T @ d)
//   b(p, :) = b[p * ldb ...]
template <class T, bool A_ROWS>
inline void micro_tile(int kc, const float* __restrict a, ptrdiff_t lda, const float* __restrict b, ptrdiff_t ldb,
                       float* __restrict c, ptrdiff_t ldc, bool add) {
  using V = typename T::V;
  V acc[T::MR][T::NV];
#pragma GCC unroll 16
  for (int r = 0; r < T::MR; r++) {
#pragma GCC unroll 4
    for (int v = 0; v < T::NV; v++) acc[r][v] = add ? T::load(c + r * ldc + v * T::W) : T::zero();
  }
  for (int p = 0; p < kc; p++) {
    V bv[T::NV];
#pragma GCC unroll 4
    for (int v = 0; v < T::NV; v++) bv[v] = T::load(b + p * ldb + v * T::W);
#pragma GCC unroll 16
    for (int r = 0; r < T::MR; r++) {
      const V ar = T::broadcast(A_ROWS ? a[r * lda + p] : a[p * lda + r]);
#pragma GCC unroll 4
      for (int v = 0; v < T::NV; v++) acc[r][v] = T::fma(ar, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < T::MR; r++) {
#pragma GCC unroll 4
    for (int v = 0; v < T::NV; v++) T::store(c + r * ldc + v * T::W, acc[r][v]);
  }
}

// Where B's panels come from: read in place, with the ragged last panel copied into a
// zero-padded buffer, or already packed (pack_transposed, pack_panels).
struct BSource {
  const float* b;
  ptrdiff_t ldb;  // in place: B's row stride; packed: 0
  int inner;      // packed: the inner dimension (rows of each panel)

  // Panel [pc, pc + kc) x [jc, jc + nr), padded to NR columns; sets *ld.
  template <class T>
  const float* panel(int pc, int kc, int jc, int nr, float* edge, ptrdiff_t* ld) const {
    constexpr int NR = T::NV * T::W;
    if (ldb == 0) {  // packed: panel jc / NR holds inner rows of NR floats
      *ld = NR;
      return b + ((size_t)(jc / NR) * inner + pc) * NR;
    }
    const float* src = b + (size_t)pc * ldb + jc;
    if (nr == NR) {
      *ld = ldb;
      return src;
    }
    for (int p = 0; p < kc; p++) {
      for (int j = 0; j < NR; j++) edge[p * NR + j] = j < nr ? src[p * ldb + j] : 0.0f;
    }
    *ld = NR;
    return edge;
  }
};

// packed[mc / MR][kc][MR] = the columns [0, mc) of a[kc, *] (row stride lda), the last tile zero-padded.
template <class T>
void pack_a_block(float* __restrict packed, const float* __restrict a, ptrdiff_t lda, int kc, int mc) {
  constexpr int MR = T::MR;
  for (int i0 = 0; i0 < mc; i0 += MR) {
    float* dst = packed + (size_t)i0 * kc;
    const int mr = min_of(MR, mc - i0);
    for (int p = 0; p < kc; p++) {
      for (int r = 0; r < MR; r++) dst[p * MR + r] = r < mr ? a[p * lda + i0 + r] : 0.0f;
    }
  }
}

// packed[N / NR][kc][NR] = b[kc, N] (row stride ldb), the last panel zero-padded.
template <class T>
void pack_panels(float* __restrict packed, const float* __restrict b, ptrdiff_t ldb, int kc, int N) {
  constexpr int NR = T::NV * T::W;
  const int full = N / NR * NR;
  for (int p = 0; p < kc; p++) {
    const float* src = b + p * ldb;
    for (int jc = 0; jc < full; jc += NR) {
      float* dst = packed + ((size_t)(jc / NR) * kc + p) * NR;
#pragma GCC unroll 4
      for (int v = 0; v < T::NV; v++) T::store(dst + v * T::W, T::load(src + jc + v * T::W));
    }
    if (full < N) {
      float* dst = packed + ((size_t)(full / NR) * kc + p) * NR;
      for (int j = 0; j < NR; j++) dst[j] = full + j < N ? src[full + j] : 0.0f;
    }
  }
}

// c[M, N] = (add ? c : 0) + A[M, inner] @ B[inner, N] (A as in micro_tile). Calls
// panel(pc, kc, jc, nr, bp, ldb) once for each panel of B, before its first tile, and
// epilogue(row, col, rows, cols) on each finished tile of c. work: gemm_work_floats(K, N) floats.
template <class T, bool A_ROWS, class Panel, class Epilogue>
void gemm(float* c, ptrdiff_t ldc, int M, int N, int inner, const float* a, ptrdiff_t lda, const BSource& b, bool add,
          float* work, Panel panel, Epilogue epilogue) {
  constexpr int MR = T::MR, NR = T::NV * T::W;
  static_assert(MR <= GEMM_MAX_MR && NR <= GEMM_MAX_NR && T::KC <= GEMM_KC && T::MC <= GEMM_MAX_MC,
                "work is sized for these bounds");
  float* edge_b = work;                          // [KC, NR]
  float* edge_a = work + GEMM_KC * GEMM_MAX_NR;  // ragged A_ROWS tile [MR, KC], or packed A^T [MC / MR][KC][MR]
  float edge_c[MR * NR];
  // Blocks of equal size: 784 = 4 x 196, not 3 x 256 + 16, whose last block would pay a
  // tile's load and store of c for 16 steps.
  const int blocks = (inner + T::KC - 1) / T::KC, block = (inner + blocks - 1) / blocks;
  // A row stride of B that is a multiple of 256 bytes (N = 64, 128, ...) puts a panel's
  // rows in a few sets of L1, which then cannot hold it: such a B is packed, a block of
  // rows at a time (the 784-128 layer's forward at batch 500: ~74 to ~89 % of peak).
  const bool pack_b = b.ldb != 0 && b.ldb % 64 == 0;
  float* packed_b = work + GEMM_WORK_HEAD;  // [N / NR][kc][NR]
  // A stored transposed (x in x^T @ d) is read MR floats from each of kc rows per tile; with
  // such a row stride those rows do not stay in L1 either, so A is packed too, a block at a
  // time (the 128-784 layer's weight gradient at batch 500: ~62 to ~74 % of peak). With
  // other strides packing A cost more than it saved.
  const bool pack_a = !A_ROWS && lda % 64 == 0;
  for (int pc = 0; pc < inner; pc += block) {
    const int kc = min_of(block, inner - pc);
    const bool last = pc + kc == inner, add_here = add || pc > 0;
    if (pack_b) pack_panels<T>(packed_b, b.b + (size_t)pc * b.ldb, b.ldb, kc, N);
    const BSource from = pack_b ? BSource{packed_b, 0, kc} : b;
    const int from_pc = pack_b ? 0 : pc;
    // A's block of rows read in place: as many as keep it in about half of a core's L2 next
    // to the stream of c (all of a batch of 500 at kc 128), so that each panel of B is
    // fetched once for them all; at least MC. A^T blocks stay MC rows (measured: larger
    // ones were slower; a packed one's buffer holds MC).
    const int rows_in_l2 = (GEMM_A_BLOCK_FLOATS / kc) / MR * MR;
    const int mc_block = !A_ROWS || rows_in_l2 < T::MC ? T::MC : rows_in_l2;
    for (int ic = 0; ic < M; ic += mc_block) {
      const int mc = min_of(mc_block, M - ic);
      if (pack_a) pack_a_block<T>(edge_a, a + (ptrdiff_t)pc * lda + ic, lda, kc, mc);
      for (int jc = 0; jc < N; jc += NR) {
        const int nr = min_of(NR, N - jc);
        ptrdiff_t ldb;
        const float* bp = from.panel<T>(from_pc, kc, jc, nr, edge_b, &ldb);
        if (ic == 0) panel(pc, kc, jc, nr, bp, ldb);
        for (int ir = ic; ir < ic + mc; ir += MR) {
          const int mr = min_of(MR, ic + mc - ir);
          const float* ap = pack_a ? edge_a + (size_t)(ir - ic) * kc : A_ROWS ? a + ir * lda + pc : a + (ptrdiff_t)pc * lda + ir;
          ptrdiff_t ld_a = pack_a ? MR : lda;
          if (!pack_a && mr < MR) {  // copy the ragged rows, zero-padded, so that no read leaves A
            if (A_ROWS) {
              for (int r = 0; r < MR; r++) {
                for (int p = 0; p < kc; p++) edge_a[r * kc + p] = r < mr ? ap[r * lda + p] : 0.0f;
              }
              ld_a = kc;
            } else {
              for (int p = 0; p < kc; p++) {
                for (int r = 0; r < MR; r++) edge_a[p * MR + r] = r < mr ? ap[p * lda + r] : 0.0f;
              }
              ld_a = MR;
            }
            ap = edge_a;
          }
          float* cp = c + ir * ldc + jc;
          if (mr == MR && nr == NR) {
            micro_tile<T, A_ROWS>(kc, ap, ld_a, bp, ldb, cp, ldc, add_here);
          } else {
            if (add_here) {
              for (int r = 0; r < mr; r++) std::memcpy(edge_c + r * NR, cp + r * ldc, sizeof(float) * nr);
            }
            micro_tile<T, A_ROWS>(kc, ap, ld_a, bp, ldb, edge_c, NR, add_here);
            for (int r = 0; r < mr; r++) std::memcpy(cp + r * ldc, edge_c + r * NR, sizeof(float) * nr);
          }
          if (last) epilogue(ir, jc, mr, nr);
        }
      }
    }
  }
}

// packed[K / NR panels][N][NR] = w[K, N]^T, the last panel zero-padded. Each output line
// (NR floats of one column of w) is written whole; the NR rows of w it reads from stay in L1.
template <class T>
void pack_transposed(float* __restrict packed, const float* __restrict w, int K, int N) {
  constexpr int NR = T::NV * T::W;
  for (int j0 = 0; j0 < K; j0 += NR) {
    float* panel = packed + (size_t)(j0 / NR) * N * NR;
    const float* rows = w + (size_t)j0 * N;
    if (K - j0 >= NR) {
      for (int p = 0; p < N; p++) {
#pragma GCC unroll 32
        for (int jj = 0; jj < NR; jj++) panel[p * NR + jj] = rows[(size_t)jj * N + p];
      }
    } else {
      for (int p = 0; p < N; p++) {
        for (int jj = 0; jj < NR; jj++) panel[p * NR + jj] = j0 + jj < K ? rows[(size_t)jj * N + p] : 0.0f;
      }
    }
  }
}

inline void no_panel(int, int, int, int, const float*, ptrdiff_t) {}

template <class T>
void forward(float* c, const float* x, const float* w, const float* bias, Act act, int B, int K, int N, float* work) {
  gemm<T, true>(c, N, B, N, K, x, K, BSource{w, N, K}, false, work, no_panel, [&](int r0, int c0, int rows, int cols) {
    for (int r = r0; r < r0 + rows; r++) bias_activation(c + (size_t)r * N + c0, bias + c0, act, cols);
  });
}

template <class T>
void weight_grad(float* dw, float* db, const float* x, const float* d, int B, int K, int N, bool accumulate,
                 float* work) {
  if (!accumulate) std::memset(db, 0, sizeof(float) * N);
  // The bias gradient sums each panel of d while it is in L1 for its first tiles.
  const auto bias_grad = [&](int, int kc, int jc, int nr, const float* bp, ptrdiff_t ldb) {
    for (int p = 0; p < kc; p++) {
      for (int j = 0; j < nr; j++) db[jc + j] += bp[p * ldb + j];
    }
  };
  gemm<T, false>(dw, N, K, N, B, x, K, BSource{d, N, B}, accumulate, work, bias_grad, [](int, int, int, int) {});
}

template <class T>
void input_grad(float* din, const float* d, const float* w, const float* out, Act act, int B, int K, int N,
                float* work) {
  float* packed = work + GEMM_WORK_HEAD;
  pack_transposed<T>(packed, w, K, N);
  gemm<T, true>(din, K, B, K, N, d, N, BSource{packed, 0, N}, false, work, no_panel,
                [&](int r0, int c0, int rows, int cols) {
                  for (int r = r0; r < r0 + rows; r++) {
                    activation_derivative(din + (size_t)r * K + c0, out + (size_t)r * K + c0, act, cols);
                  }
                });
}

// FMA_CHAINS independent chains of fused multiply-adds on registers only, `iterations`
// times: enough chains to cover the FMA latency times the FMA units of the cores these
// paths target (4 cycles x 2 units), so that the units never wait. Returns the FLOPs
// done; adds a checksum to *sink so that the loop is not optimized away.
constexpr int FMA_CHAINS = 12;

template <class T>
double fma_loop(long iterations, float* sink) {
  using V = typename T::V;
  V acc[FMA_CHAINS];
#pragma GCC unroll 16
  for (int k = 0; k < FMA_CHAINS; k++) acc[k] = T::broadcast(1e-3f * (float)k);
  const V b = T::broadcast(0.999f), c = T::broadcast(1e-4f);
  for (long i = 0; i < iterations; i++) {
#pragma GCC unroll 16
    for (int k = 0; k < FMA_CHAINS; k++) acc[k] = T::fma(acc[k], b, c);
  }
  float out[T::W];
  for (int k = 0; k < FMA_CHAINS; k++) {
    T::store(out, acc[k]);
    *sink += out[0];
  }
  return 2.0 * T::W * FMA_CHAINS * (double)iterations;
}

template <class T>
constexpr GemmKernels kernels_of(const char* name, const char* isa) {
  return GemmKernels{name, isa, forward<T>, weight_grad<T>, input_grad<T>, fma_loop<T>};
}

}  // namespace
