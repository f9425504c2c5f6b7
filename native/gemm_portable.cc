// The GEMM kernels for every other CPU: plain C++ that the compiler vectorizes for the
// baseline of the target (SSE2 on x86-64, NEON on arm64). Multiply, then add: no FMA is
// assumed, so the results may differ in the last bits from the other paths.
#include "gemm_kernel.h"

namespace {

struct Portable {
  struct V {
    float f[4];
  };
  static constexpr int W = 4, MR = 4, NV = 2, MC = 96, KC = 256;
  static V load(const float* p) {
    V v;
    std::memcpy(v.f, p, sizeof v.f);
    return v;
  }
  static void store(float* p, V v) { std::memcpy(p, v.f, sizeof v.f); }
  static V broadcast(float x) { return V{{x, x, x, x}}; }
  static V zero() { return V{{0.0f, 0.0f, 0.0f, 0.0f}}; }
  static V fma(V a, V b, V c) {
    V r;
    for (int i = 0; i < W; i++) r.f[i] = a.f[i] * b.f[i] + c.f[i];
    return r;
  }
};

}  // namespace

const GemmKernels GEMM_PORTABLE = kernels_of<Portable>("portable", "portable C++, 4x8 tiles");
