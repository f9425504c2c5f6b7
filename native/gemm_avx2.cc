// The GEMM kernels for AVX2 + FMA (binding.gyp compiles this file with -mavx2 -mfma).
#include <immintrin.h>

#include "gemm_kernel.h"

namespace {

// 6 x 16 tiles: 12 accumulators, 2 vectors of B and a broadcast in the 16 ymm registers.
struct Avx2 {
  using V = __m256;
  static constexpr int W = 8, MR = 6, NV = 2, MC = 96, KC = 256;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
};

}  // namespace

const GemmKernels GEMM_AVX2 = kernels_of<Avx2>("avx2", "AVX2+FMA, 6x16 tiles");
