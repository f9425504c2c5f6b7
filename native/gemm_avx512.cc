// The GEMM kernels for AVX-512F (binding.gyp compiles this file with -mavx512f -mfma).
#include <immintrin.h>

#include "gemm_kernel.h"

namespace {

// 14 x 32 tiles: 28 accumulators, 2 vectors of B and a broadcast in the 32 zmm registers.
struct Avx512 {
  using V = __m512;
  static constexpr int W = 16, MR = 14, NV = 2, MC = 98, KC = 256;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};

}  // namespace

const GemmKernels GEMM_AVX512 = kernels_of<Avx512>("avx512", "AVX-512F, 14x32 tiles");
